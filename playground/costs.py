"""Cost arithmetic from the registry's prices (USD per 1M tokens).

Cached tokens are part of ``prompt_tokens``: they are charged at the cached rate instead of the
input rate, never on top of it.
"""

from __future__ import annotations

from playground.registry import ModelSpec, Price

PER_TOKENS = 1_000_000


def request_cost(price: Price, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> float:
    """USD for one request. Tiers without a cache discount charge cached tokens as input."""
    cached = min(cached_tokens, prompt_tokens)
    cached_rate = price.cached_input if price.cached_input is not None else price.input
    return (
        (prompt_tokens - cached) * price.input + cached * cached_rate + completion_tokens * price.output
    ) / PER_TOKENS


def price_for(spec: ModelSpec, tier: str, overrides: dict[str, Price] | None = None) -> Price | None:
    """The price that applies: a session override for this model, else the registry's tier price."""
    if overrides and spec.id in overrides:
        return overrides[spec.id]
    return spec.price(tier)
