"""Variants from what the user has: the current setup (a Workspace) or a prompt library version.

A setup's system prompt and conversation become the variant's templates; the model's replies in it
are wrapped in ``{% raw %}`` so a model's own ``{{`` (code, templates) is sent as it was written.
"""

from __future__ import annotations

from typing import Any

from playground.connection import ConnectionSettings
from playground.evals.variants import DEFAULT_CONNECTION, Variant
from playground.request import ChatParams
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


def variant_for_column(
    setup: Workspace,
    *,
    variant_id: str,
    label: str,
    connection: str,
    settings: ConnectionSettings,
    model: str,
    registry_entry: str | None,
    params: ChatParams,
    next_message: str = "",
    prompt_version: str | None = None,
) -> Variant:
    """``setup`` as a Compare column: sent through the connection named ``connection`` (whose
    ``settings`` give the provider; the variant keeps only the name), as ``model`` (a model or a
    deployment name), priced from ``registry_entry`` (None: the registry's own entry for ``model``,
    or no price when it has none), with ``params``.

    The setup's price tier applies on its own connection; another connection is priced at its
    provider's default tier.
    """
    variant = variant_from_setup(
        setup, variant_id=variant_id, label=label, model=model, next_message=next_message, prompt_version=prompt_version
    )
    own = connection == DEFAULT_CONNECTION
    return variant.model_copy(
        update={
            "connection": connection,
            "provider": settings.provider,
            "registry_entry": registry_entry,
            "price_tier": setup.price_tier if own else None,
            "params": params.model_copy(deep=True),
        }
    )
