"""A variant: one way of asking (prompt version, model or deployment, provider, parameters).

``connection`` is a *reference* to provider settings the caller holds (e.g. ``"default"``, a saved
provider's name), never the settings or a key: variants are stored and exported.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from playground.costs import batch_tier_for, request_cost
from playground.evals.variables import prompt_variables, render_messages
from playground.registry import ModelSpec, Price, default_tier, resolve_model
from playground.request import ChatParams, ChatRequest, params_for_model

DEFAULT_CONNECTION = "default"


class Variant(BaseModel):
    """What to send for each row. ``messages`` are API-format templates (``{{name}}`` variables)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    label: str = ""
    system_prompt: str = ""
    messages: list[dict[str, Any]] = Field(default_factory=list)
    #: What the request's ``model`` carries: a model name, or an Azure deployment name.
    model: str = "gpt-4.1-mini"
    #: The registry entry whose prices apply when ``model`` is a deployment or unknown name.
    registry_entry: str | None = None
    connection: str = DEFAULT_CONNECTION
    provider: str = "openai"
    price_tier: str | None = None
    params: ChatParams = Field(default_factory=ChatParams)
    response_format: dict[str, Any] | None = None
    #: The prompt version this variant was made from, when it came from the library.
    prompt_version: str | None = None

    @property
    def title(self) -> str:
        return self.label or self.id

    def on_model(self, model: str, *, registry_entry: str | None = None, label: str | None = None) -> Variant:
        """This variant on another model (the migration check's candidate): same prompt and params."""
        return self.model_copy(
            update={
                "id": f"{self.id}@{model}",
                "label": label or f"{self.title} on {model}",
                "model": model,
                "registry_entry": registry_entry,
            },
            deep=True,
        )

    def template_messages(self) -> list[dict[str, Any]]:
        system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return system + copy.deepcopy(self.messages)

    def variables(self) -> list[str]:
        """The variables the system prompt and messages use, sorted."""
        return prompt_variables(self.template_messages())

    def build_request(self, values: Mapping[str, Any]) -> ChatRequest:
        """The rendered request for one row, carrying only the parameters the model accepts.

        Raises PlaygroundError when a variable is missing.
        """
        return ChatRequest(
            model=self.model,
            messages=render_messages(self.template_messages(), values),
            params=params_for_model(self.params, self.spec()),
            response_format=copy.deepcopy(self.response_format),
        )

    def spec(self, served_model: str | None = None) -> ModelSpec:
        return resolve_model(self.model, self.registry_entry, served_model)

    def tier(self) -> str:
        return self.price_tier or default_tier(self.provider)

    def price(self, served_model: str | None = None, *, batch: bool = False) -> tuple[Price | None, bool]:
        """(price, is_estimate) for this variant's replies; at the batch tier with ``batch``.

        A model the registry does not know has no price (None, True) unless ``registry_entry`` says
        whose prices to use (then is_estimate is True: the figures are that entry's).
        """
        spec = self.spec(served_model)
        if spec.is_estimate and self.registry_entry is None:
            return None, True
        tier: str | None = self.tier()
        if batch and tier is not None:
            tier = batch_tier_for(spec, tier)
        price = spec.price(tier) if tier is not None else None
        return price, spec.is_estimate

    def cost(
        self,
        prompt_tokens: int,
        completion_tokens: int,
        cached_tokens: int = 0,
        *,
        served_model: str | None = None,
        batch: bool = False,
    ) -> tuple[float | None, bool]:
        """(USD, is_estimate) for one reply's usage; USD is None when no price applies."""
        price, estimate = self.price(served_model, batch=batch)
        if price is None:
            return None, estimate
        return request_cost(price, prompt_tokens, completion_tokens, cached_tokens), estimate
