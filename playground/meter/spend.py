"""Where the session's money went: the chat, the Compare panel's side-by-side replies, and test runs.

The chat's cost is recomputed from its replies' usage (see :mod:`playground.meter.usage`); a
side-by-side reply or a run is costed once, when it happens, at the price its own model had then
(the figure the Compare panel showed). Each part says whether an estimated price went into it and
how many paid requests had no price at all (they add nothing to the sum, and the total says so).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class PaidCost:
    """What some paid requests cost: ``usd`` over the priced ones.

    ``estimated``: an estimated price (a model the registry does not know) went into ``usd``;
    ``unpriced``: requests with usage but no price, not in ``usd``; ``requests``: all of them.
    """

    usd: float = 0.0
    estimated: bool = False
    unpriced: int = 0
    requests: int = 0

    @classmethod
    def of(cls, usd: float | None, *, estimated: bool = False) -> PaidCost:
        """One request's cost (None: no price for its model)."""
        if usd is None:
            return cls(unpriced=1, requests=1)
        return cls(usd, estimated, 0, 1)

    def __add__(self, other: PaidCost) -> PaidCost:
        return PaidCost(
            self.usd + other.usd,
            self.estimated or other.estimated,
            self.unpriced + other.unpriced,
            self.requests + other.requests,
        )


def total_cost(costs: Iterable[PaidCost]) -> PaidCost:
    """The sum of ``costs`` (nothing: no request, $0)."""
    return sum(costs, PaidCost())


@dataclass(frozen=True)
class RunCost:
    """A test run's (or migration check's) spend as last seen, the LLM judge's included.

    ``done``: the run has ended in this process, so its spend no longer changes (a run still going,
    or stopped by a restart, is read again from its live state while this process runs it).
    """

    cost: PaidCost = PaidCost()
    done: bool = False


@dataclass(frozen=True)
class SessionSpend:
    """The session's cost, part by part: ``chat`` (chat, schema and function-calling replies,
    kept when dropped), ``compare`` (side-by-side replies) and ``runs`` (test runs and migration
    checks, judge included)."""

    chat: PaidCost
    compare: PaidCost = PaidCost()
    runs: PaidCost = PaidCost()

    @property
    def total(self) -> PaidCost:
        return self.chat + self.compare + self.runs

    def parts(self) -> list[tuple[str, PaidCost]]:
        """(name, cost) of every part with a request in it, chat first (chat always: it is the page's)."""
        named = [("chat", self.chat), ("compare", self.compare), ("runs", self.runs)]
        return [(name, cost) for name, cost in named if name == "chat" or cost.requests]

    @property
    def beyond_chat(self) -> bool:
        """Anything but chat was paid for (then the total is worth breaking down)."""
        return bool(self.compare.requests or self.runs.requests)
