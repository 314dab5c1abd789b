"""What the session used: one row per reply with usage, the ledger of paid replies, the session cost,
and how close our pre-send estimates came to the API's figures.

Reading never writes: the Workspace records replies in its ledger when their stream ends
(``Workspace.record_usage``); these functions only read the ledger and the conversation.
"""

from __future__ import annotations

import bisect
import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from playground.conversation import Message, ReplyStats
from playground.meter.breakdown import MessageCounter
from playground.meter.spend import PaidCost

#: Costs one reply from its usage (None: no price for its model at the applied tier).
ReplyCoster = Callable[[ReplyStats], float | None]


@dataclass(frozen=True)
class TurnUsage:
    """One reply's usage (the API's figures), our estimate beside it, and its cost at the applied price."""

    turn: int
    message_id: str
    model: str
    prompt_tokens: int
    cached_tokens: int
    image_tokens: int  # our estimate of the image tokens within prompt_tokens
    completion_tokens: int
    estimated_prompt_tokens: int | None
    cost_usd: float | None
    cumulative_cost_usd: float
    context_tokens: int  # prompt + completion: the context after this turn
    window: int
    finish_reason: str | None

    @property
    def uncached_text_tokens(self) -> int:
        """The rest of the prompt: not cached, not images (cached first, then images, then text)."""
        return self.prompt_tokens - self.cached_tokens - self.uncached_image_tokens

    @property
    def uncached_image_tokens(self) -> int:
        return max(0, min(self.image_tokens, self.prompt_tokens - self.cached_tokens))

    @property
    def context_fraction(self) -> float:
        return self.context_tokens / self.window if self.window else 1.0

    @property
    def estimate_error(self) -> int | None:
        """Our pre-send estimate minus the API's prompt_tokens (positive: we over-estimated)."""
        if self.estimated_prompt_tokens is None:
            return None
        return self.estimated_prompt_tokens - self.prompt_tokens

    @property
    def estimate_error_fraction(self) -> float | None:
        if self.estimate_error is None or not self.prompt_tokens:
            return None
        return self.estimate_error / self.prompt_tokens


def usage_of(message: Message) -> ReplyStats | None:
    """A reply's stats, when the API reported its usage (a replayed reply was not billed: None)."""
    stats = message.stats
    if message.role != "assistant" or message.replayed or stats is None or stats.prompt_tokens is None:
        return None
    return stats


def replies_with_usage(messages: Iterable[Message]) -> dict[str, ReplyStats]:
    """The usage of every reply among ``messages`` that has one, by message id."""
    return {message.id: stats for message in messages if (stats := usage_of(message)) is not None}


def usage_rows(
    messages: Sequence[Message], counter: MessageCounter, window: int, cost_of: ReplyCoster
) -> list[TurnUsage]:
    """Every reply with usage in ``messages``, costed from that usage by ``cost_of``.

    Past turns are recomputed (not read from ``stats.cost_usd``) so the whole table uses one tier,
    and changing the tier or overriding a price changes every row consistently.
    """
    rows: list[TurnUsage] = []
    images_so_far = 0  # history is resent with every request, so are its images
    cumulative = 0.0
    for message in messages:
        if message.role == "user" and message.is_sent:
            images_so_far += counter.count(message).images
        if (stats := usage_of(message)) is None:
            continue
        prompt = stats.prompt_tokens or 0  # never 0 here: usage_of checked it is set
        completion = stats.completion_tokens or 0
        cost = cost_of(stats)
        cumulative += cost or 0.0
        rows.append(
            TurnUsage(
                turn=len(rows) + 1,
                message_id=message.id,
                model=stats.model,
                prompt_tokens=prompt,
                cached_tokens=min(stats.cached_tokens, prompt),
                image_tokens=images_so_far,
                completion_tokens=completion,
                estimated_prompt_tokens=stats.estimated_prompt_tokens,
                cost_usd=cost,
                cumulative_cost_usd=cumulative,
                context_tokens=prompt + completion,
                window=window,
                finish_reason=stats.finish_reason,
            )
        )
    return rows


def paid_replies(ledger: Mapping[str, ReplyStats], messages: Iterable[Message]) -> dict[str, ReplyStats]:
    """Every reply the session paid for: the ledger's (dropped, deleted, cleared, test runs) and the
    conversation's (a reply not yet recorded still counts)."""
    return {**replies_with_usage(messages), **ledger}


def session_cost(ledger: Mapping[str, ReplyStats], messages: Iterable[Message], cost_of: ReplyCoster) -> float:
    """USD spent this session at the applied price, including replies no longer in the conversation.

    Replies whose model has no price for the tier add nothing.
    """
    return sum(cost for stats in paid_replies(ledger, messages).values() if (cost := cost_of(stats)) is not None)


def paid_cost(ledger: Mapping[str, ReplyStats], messages: Iterable[Message], cost_of: ReplyCoster) -> PaidCost:
    """:func:`session_cost`, with the count of the replies that had no price."""
    costs = [cost_of(stats) for stats in paid_replies(ledger, messages).values()]
    priced = [cost for cost in costs if cost is not None]
    return PaidCost(sum(priced), False, len(costs) - len(priced), len(costs))


@dataclass(frozen=True)
class EstimateAccuracy:
    """How close our pre-send estimates were to the API's prompt_tokens, over ``replies`` replies.

    The headline is the median relative error: one outlier (an image of unknown size, a
    server that counts differently once) moves the mean a lot but the median hardly at all.
    """

    replies: int
    mean_abs_error: float  # tokens
    mean_abs_error_fraction: float
    median_abs_error_fraction: float
    worst_abs_error_fraction: float

    @property
    def accuracy(self) -> float:
        """1 − the median relative error (never below 0)."""
        return max(0.0, 1.0 - self.median_abs_error_fraction)


def _median(ordered: Sequence[float]) -> float:
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def running_accuracy(rows: Iterable[TurnUsage]) -> list[EstimateAccuracy | None]:
    """The accuracy of our estimates up to each row (None until a row has an estimate)."""
    series: list[EstimateAccuracy | None] = []
    fractions: list[float] = []  # kept sorted, for the running median
    abs_tokens, abs_fraction = 0.0, 0.0
    for row in rows:
        if row.estimate_error is not None and row.estimate_error_fraction is not None:
            abs_tokens += abs(row.estimate_error)
            abs_fraction += abs(row.estimate_error_fraction)
            bisect.insort(fractions, abs(row.estimate_error_fraction))
        count = len(fractions)
        series.append(
            EstimateAccuracy(count, abs_tokens / count, abs_fraction / count, _median(fractions), fractions[-1])
            if count
            else None
        )
    return series


CSV_COLUMNS = (
    "turn",
    "model",
    "prompt_tokens",
    "cached_tokens",
    "image_tokens_est",
    "completion_tokens",
    "estimated_prompt_tokens",
    "estimate_error",
    "cost_usd",
    "cumulative_cost_usd",
    "context_fill",
    "finish_reason",
    "prices",
)


def usage_csv(rows: Iterable[TurnUsage], prices_label: str) -> str:
    """The per-turn usage as CSV (one row per reply; ``prices`` says which prices costed it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row.turn,
                row.model,
                row.prompt_tokens,
                row.cached_tokens,
                row.image_tokens,
                row.completion_tokens,
                "" if row.estimated_prompt_tokens is None else row.estimated_prompt_tokens,
                "" if row.estimate_error is None else row.estimate_error,
                "" if row.cost_usd is None else f"{row.cost_usd:.8f}",
                f"{row.cumulative_cost_usd:.8f}",
                f"{row.context_fraction:.6f}",
                row.finish_reason or "",
                prices_label,
            ]
        )
    return buffer.getvalue()
