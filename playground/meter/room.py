"""Making room when a request cannot fit: what dropping old turns or images would free.

Plans only: the Workspace applies them (``Workspace.make_room``), so these functions read their
inputs and never change them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from playground.conversation import ImageAttachment, Message
from playground.meter.breakdown import Breakdown, MessageCounter

RoomStrategy = Literal["turns", "images"]
STRATEGIES: tuple[RoomStrategy, ...] = ("turns", "images")


@dataclass(frozen=True)
class RoomPlan:
    """What one "make room" click would drop, and whether the request then fits."""

    strategy: RoomStrategy
    count: int  # turns (exchanges) or images dropped
    messages: int  # messages removed from the start of the conversation (turns only)
    freed_tokens: int
    fits: bool

    @property
    def label(self) -> str:
        """The action in words, e.g. "Drop the 2 oldest turns (frees 30,000 tokens)"."""
        plural = "s" if self.count > 1 else ""
        what = (
            f"Drop the {self.count} oldest turn{plural}"
            if self.strategy == "turns"
            else f"Drop {self.count} image{plural}"
        )
        return f"{what} (frees {self.freed_tokens:,} tokens)"


@dataclass(frozen=True)
class FitVerdict:
    """Whether a request fits the window and, when it does not, the ways to make room."""

    breakdown: Breakdown
    plans: tuple[RoomPlan, ...] = ()  # one per strategy with something to drop

    @property
    def fits(self) -> bool:
        return self.breakdown.fits

    def plan(self, strategy: RoomStrategy) -> RoomPlan | None:
        return next((plan for plan in self.plans if plan.strategy == strategy), None)


def oldest_turns(
    messages: Sequence[Message], tokens_by_id: dict[str, int], *, keep_latest_user: bool = True
) -> list[tuple[int, int]]:
    """(messages, tokens) of each droppable exchange, oldest first.

    An exchange starts at a user message and runs to the next one, so an assistant's tool calls and
    the tool results answering them are dropped together (the API rejects orphaned tool messages).
    With ``keep_latest_user`` the exchange the request answers (from the latest user message on) is
    never droppable; without it (the request adds a new message) every exchange is.
    """
    end = len(messages)
    if keep_latest_user:
        end = max((index for index, message in enumerate(messages) if message.role == "user"), default=0)
    turns: list[list[int]] = []
    for message in messages[:end]:
        if message.role == "user" or not turns:
            turns.append([0, 0])
        turns[-1][0] += 1
        turns[-1][1] += tokens_by_id.get(message.id, 0)
    return [(count, tokens) for count, tokens in turns]


def droppable_images(
    messages: Sequence[Message], counter: MessageCounter
) -> list[tuple[Message, ImageAttachment, int]]:
    """(owner message, image, tokens) of every measurable image the conversation sends, oldest first.

    Pending images are not in ``messages`` (they wait for the next message): they are never dropped.
    """
    found = []
    for message in messages:
        if not message.is_sent:
            continue
        for image in message.images:
            if tokens := counter.image_tokens(image):  # unknown or free images would free nothing
                found.append((message, image, tokens))
    return found


def plan_room(
    breakdown: Breakdown, messages: Sequence[Message], counter: MessageCounter, strategy: RoomStrategy
) -> RoomPlan | None:
    """The least to drop so the request of ``breakdown`` fits (None: it fits already, or nothing to drop).

    ``turns`` drops whole exchanges, oldest first, never the system prompt or the latest user
    message; ``images`` drops the conversation's image attachments, oldest first. When dropping
    everything droppable is still not enough, the plan says so (``fits=False``).
    """
    if breakdown.fits:
        return None
    if strategy == "turns":
        sizes = oldest_turns(messages, breakdown.message_tokens(), keep_latest_user=not breakdown.has_next_message)
    else:
        sizes = [(0, tokens) for _, _, tokens in droppable_images(messages, counter)]
    count = removed = freed = 0
    for message_count, tokens in sizes:
        if freed >= breakdown.overflow:
            break
        count, removed, freed = count + 1, removed + message_count, freed + tokens
    if count == 0:
        return None
    return RoomPlan(strategy, count, removed, freed, fits=freed >= breakdown.overflow)


def fit_verdict(breakdown: Breakdown, messages: Sequence[Message], counter: MessageCounter) -> FitVerdict:
    """The verdict on ``breakdown``'s request, with a plan per strategy when it does not fit."""
    plans = (plan_room(breakdown, messages, counter, strategy) for strategy in STRATEGIES)
    return FitVerdict(breakdown, tuple(plan for plan in plans if plan is not None))
