"""Variants from what the user has: the current setup (a Workspace) or a prompt library version.

A setup's system prompt and conversation become the variant's templates; the model's replies in it
are wrapped in ``{% raw %}`` so a model's own ``{{`` (code, templates) is sent as it was written.
"""

from __future__ import annotations

from typing import Any

from playground.evals.variants import Variant
from playground.workspace import Workspace

_MARKUP = ("{{", "{%", "{#")


def _literal(message: dict[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    if message.get("role") in ("system", "user") or not isinstance(content, str):
        return message
    if not any(mark in content for mark in _MARKUP):
        return message
    return {**message, "content": "{% raw %}" + content + "{% endraw %}"}


def variant_from_setup(
    setup: Workspace,
    *,
    variant_id: str,
    label: str,
    model: str | None = None,
    temperature: float | None = None,
    next_message: str = "",
    prompt_version: str | None = None,
) -> Variant:
    """``setup`` as a variant on ``model`` (default: its own) at ``temperature`` (default: its own),
    with ``next_message`` (a template too) after its conversation when given."""
    messages = [_literal(message) for message in setup.conversation.to_api("")]
    if next_message:
        messages.append({"role": "user", "content": next_message})
    params = setup.params.model_copy(update={"temperature": temperature} if temperature is not None else {})
    own_model = setup.connection.request_model
    chosen = model or own_model
    return Variant(
        id=variant_id,
        label=label,
        system_prompt=setup.system_prompt,
        messages=messages,
        model=chosen,
        registry_entry=setup.connection.registry_entry if chosen == own_model else None,
        provider=setup.connection.provider,
        price_tier=setup.price_tier,
        params=params,
        response_format=setup.response_schema.response_format(),
        prompt_version=prompt_version,
    )
