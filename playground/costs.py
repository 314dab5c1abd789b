"""Cost arithmetic from the registry's prices (USD per 1M tokens), and which prices apply.

Cached tokens are part of ``prompt_tokens``: they are charged at the cached rate instead of the
input rate, never on top of it.
"""

from __future__ import annotations

from collections.abc import Callable

from playground.conversation import ReplyStats
from playground.registry import ModelSpec, Price, price_tiers, price_tiers_of

PER_TOKENS = 1_000_000
#: How the costs name a session override (instead of a tier's label).
OVERRIDE_LABEL = "custom prices (session override)"


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


def tier_prices(spec: ModelSpec) -> list[tuple[str, str, Price]]:
    """(tier id, label, price) of every registry tier priced for this model, in registry order."""
    return [
        (tier, info.label, price) for tier, info in price_tiers().items() if (price := spec.price(tier)) is not None
    ]


def price_label(tier: str, *, overridden: bool = False) -> str:
    """Which prices the costs use: the session override, or the tier's label (its id if unknown)."""
    if overridden:
        return OVERRIDE_LABEL
    tiers = price_tiers()
    return tiers[tier].label if tier in tiers else tier


def batch_tier_for(spec: ModelSpec, tier: str) -> str | None:
    """The Batch API tier matching ``tier``: ``<tier>_batch``, else its provider's batch tier.

    Relies on the registry's naming (batch tiers end in ``_batch``); None when the model has no
    batch price for that provider.
    """
    tiers = price_tiers()
    if tier not in tiers:
        return None
    provider = tiers[tier].provider
    same_provider = [name for name in price_tiers_of(provider) if name.endswith("_batch")]
    for candidate in [tier if tier.endswith("_batch") else f"{tier}_batch", *same_provider]:
        if candidate in tiers and spec.price(candidate) is not None:
            return candidate
    return None


def reply_coster(price_of: Callable[[ReplyStats], Price | None]) -> Callable[[ReplyStats], float | None]:
    """Costs a reply from its usage at the price ``price_of`` gives (None: no price, or no usage).

    Prices are looked up once per serving model, so costing a long history stays cheap.
    """
    prices: dict[tuple[str, str | None], Price | None] = {}

    def cost(stats: ReplyStats) -> float | None:
        served_by = (stats.model, stats.served_model)
        if served_by not in prices:
            prices[served_by] = price_of(stats)
        price = prices[served_by]
        if price is None or stats.prompt_tokens is None:
            return None
        return request_cost(price, stats.prompt_tokens, stats.completion_tokens or 0, stats.cached_tokens)

    return cost
