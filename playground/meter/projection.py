"""Projections: the next request's cost, requests like the last one at scale, turns left in the window."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from playground.costs import request_cost
from playground.meter.breakdown import Breakdown
from playground.meter.usage import TurnUsage
from playground.registry import Price

#: Days in the "monthly" projection (a commercial month, as cloud price calculators use).
DAYS_PER_MONTH = 30


@dataclass(frozen=True)
class NextRequestCost:
    """The next request's cost: input at the tier's input price (no cache discount assumed), and
    output either at the full reserved length or at the average reply length so far."""

    input_usd: float
    reserved_output_tokens: int
    reserved_output_usd: float
    expected_output_tokens: int | None
    expected_output_usd: float | None

    @property
    def max_usd(self) -> float:
        return self.input_usd + self.reserved_output_usd

    @property
    def expected_usd(self) -> float | None:
        return None if self.expected_output_usd is None else self.input_usd + self.expected_output_usd


def next_request_cost(breakdown: Breakdown, price: Price, rows: Sequence[TurnUsage]) -> NextRequestCost:
    expected = round(sum(row.completion_tokens for row in rows) / len(rows)) if rows else None
    return NextRequestCost(
        input_usd=request_cost(price, breakdown.total, 0),
        reserved_output_tokens=breakdown.reserved_output,
        reserved_output_usd=request_cost(price, 0, breakdown.reserved_output),
        expected_output_tokens=expected,
        expected_output_usd=None if expected is None else request_cost(price, 0, expected),
    )


@dataclass(frozen=True)
class Projection:
    """Costs of requests like the last one, at scale, and what caching and the Batch API change."""

    requests_per_day: int
    per_request: float  # as it was billed (with its cached tokens)
    without_cache: float  # every prompt token at the input price
    fully_cached: float  # the repeated prefix (the previous request and its reply) from the cache
    batch_tier: str | None
    batch_per_request: float | None

    @property
    def per_thousand(self) -> float:
        return self.per_request * 1_000

    @property
    def per_million(self) -> float:
        return self.per_request * 1_000_000

    @property
    def per_month(self) -> float:
        return self.monthly(self.per_request)

    def monthly(self, per_request: float) -> float:
        return per_request * self.requests_per_day * DAYS_PER_MONTH

    @property
    def caching_saved(self) -> float:
        """What the cache saved on the last request, per request."""
        return self.without_cache - self.per_request

    @property
    def caching_could_save(self) -> float:
        """Upper bound of the caching saving per request, if the whole repeated prefix hit the cache."""
        return self.without_cache - self.fully_cached

    @property
    def batch_saves(self) -> float | None:
        return None if self.batch_per_request is None else self.per_request - self.batch_per_request


def project(
    rows: Sequence[TurnUsage], price: Price, batch_price: Price | None, batch_tier: str | None, requests_per_day: int
) -> Projection | None:
    """Project the last reply's usage (None before the first reply with usage)."""
    if not rows:
        return None
    last = rows[-1]
    prompt, completion = last.prompt_tokens, last.completion_tokens
    repeated = min(prompt, rows[-2].context_tokens) if len(rows) > 1 else last.cached_tokens
    return Projection(
        requests_per_day=requests_per_day,
        per_request=request_cost(price, prompt, completion, last.cached_tokens),
        without_cache=request_cost(price, prompt, completion),
        fully_cached=request_cost(price, prompt, completion, max(repeated, last.cached_tokens)),
        batch_tier=batch_tier,
        batch_per_request=None if batch_price is None else request_cost(batch_price, prompt, completion),
    )


def growth_per_turn(breakdown: Breakdown) -> float | None:
    """Average tokens one exchange (your message and its replies) adds to the context so far."""
    exchanges = sum(part.role == "user" for part in breakdown.parts if part.kind == "message")
    if not exchanges:
        return None
    return breakdown.tokens_of("message") / exchanges


def turns_left(breakdown: Breakdown) -> int | None:
    """Exchanges that still fit at the current growth rate (None: no exchange yet to measure)."""
    growth = growth_per_turn(breakdown)
    if not growth:
        return None
    return math.floor(breakdown.free / growth)
