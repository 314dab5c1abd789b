"""The cost and context meter's arithmetic: what the next request carries, what the session cost.

One counting path: :func:`prompt_breakdown` is what the live meter, the meter panel, the send gate
and ``Workspace.estimate_prompt_tokens`` all use. It is incremental: each message is counted once
per content and model (:class:`MessageCounter`), so a rerun over an unchanged 1M-token conversation
costs dictionary lookups, not a tiktoken pass.

Everything here is pure Python (no Streamlit); figures the registry holds (windows, prices, token
rules, image rules) are read from it, never restated.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from playground.conversation import ImageAttachment, Message, ReplyStats
from playground.costs import request_cost
from playground.registry import ModelSpec, Price, TokenRules, price_tiers, price_tiers_of, resolve_model
from playground.tokens import TokenCounter, count_message_tokens, count_tools_tokens

if TYPE_CHECKING:  # workspace.py imports this module: a runtime import would be circular
    from playground.workspace import Workspace

#: Context fill at which the meter turns from green to orange, and from orange to red. UI policy,
#: not a model limit: the window itself comes from the registry.
FILL_NEAR = 0.75
FILL_FULL = 0.95
#: Days in the "monthly" projection (a commercial month, as cloud price calculators use).
DAYS_PER_MONTH = 30
#: Id of the not-yet-sent user message (the draft and pending images) in the message cache.
DRAFT_ID = "draft"

PartKind = Literal["priming", "system", "message", "tools", "schema", "draft"]
RoomStrategy = Literal["turns", "images"]


class FillLevel(StrEnum):
    """How full the window is once the reply's maximum length is reserved."""

    OK = "ok"  # below FILL_NEAR
    NEAR = "near"  # FILL_NEAR up to FILL_FULL
    FULL = "full"  # FILL_FULL and above, but it still fits
    OVER = "over"  # the request cannot be sent


# ---------------------------------------------------------------------------------------------
# Counting, incrementally


@dataclass(frozen=True)
class MessageTokens:
    """One message's share of a prompt: text (with overhead, role, name, tool calls) and images."""

    text: int
    images: int = 0
    unknown_images: int = 0  # images of unknown size (remote URLs), counted as 0


class MessageCounter:
    """Counts messages for one registry model, remembering each message's count.

    The cache key is the message id plus every field its count depends on (so an edit, a
    streamed delta or a dropped image is a new key) and the model is fixed per instance. A rerun
    over an unchanged conversation therefore costs one tuple and one dict lookup per message.
    """

    def __init__(self, spec: ModelSpec, max_entries: int = 20_000) -> None:
        self.model = spec.id
        self._rules: TokenRules = spec.token_rules
        self._counter = TokenCounter(spec.encoding)
        self._counts: dict[tuple[object, ...], MessageTokens] = {}
        self._max_entries = max_entries

    def count(self, message: Message) -> MessageTokens:
        key = (
            message.id,
            message.role,
            message.content,
            message.name,
            message.tool_call_id,
            tuple((call.id, call.name, call.arguments) for call in message.tool_calls),
            # Not the URL: a data URL is megabytes the cache would keep alive.
            tuple((image.id, image.detail, image.width, image.height) for image in message.images),
        )
        cached = self._counts.get(key)
        if cached is not None:
            return cached
        counted = self._count(message)
        if len(self._counts) >= self._max_entries:
            self._counts.clear()  # crude but bounded; the TokenCounter still holds the texts
        self._counts[key] = counted
        return counted

    def count_text(self, message: dict[str, object]) -> int:
        """An API-format message with no images (the system prompt)."""
        return count_message_tokens(message, self._counter, self._rules)

    def count_tools(self, tools: Sequence[dict[str, object]]) -> int:
        return count_tools_tokens(tools, self._counter, self._rules)

    def count_json(self, value: object) -> int:
        return self._counter.count(json.dumps(value, separators=(",", ":"), ensure_ascii=False))

    def image_tokens(self, image: ImageAttachment) -> int | None:
        return image.estimated_tokens(self.model)

    def _count(self, message: Message) -> MessageTokens:
        # Text through the same function as count_chat_tokens (the FACTS vectors); images apart,
        # because their figure comes from the registry's image rule, not from tiktoken.
        text = self.count_text(message.to_api())
        known = [self.image_tokens(image) for image in message.images]
        return MessageTokens(
            text=text,
            images=sum(tokens for tokens in known if tokens is not None),
            unknown_images=sum(tokens is None for tokens in known),
        )


def message_counter(workspace: Workspace, model_id: str) -> MessageCounter:
    """The session's counter for a registry model.

    Kept in the workspace, not the process: its cache holds the session's own texts, which must
    neither outlive the session nor sit in memory other sessions share.
    """
    if model_id not in workspace.message_counters:
        workspace.message_counters[model_id] = MessageCounter(resolve_model(model_id))
    return workspace.message_counters[model_id]


@dataclass(frozen=True)
class Part:
    """One item of the next request and the tokens it takes."""

    kind: PartKind
    label: str
    text_tokens: int
    image_tokens: int = 0
    unknown_images: int = 0
    message_id: str | None = None
    role: str | None = None

    @property
    def tokens(self) -> int:
        return self.text_tokens + self.image_tokens


@dataclass(frozen=True)
class Breakdown:
    """Everything the next request would carry, against the model's window with the reply reserved."""

    model: str
    requested_model: str
    parts: tuple[Part, ...]
    total: int  # prompt tokens of the next request
    window: int
    reserved_output: int
    model_is_guess: bool
    # With max_completion_tokens set, the API refuses a prompt that leaves less room than that; with
    # none set it accepts any prompt that fits and shortens the reply, so only the prompt must fit.
    output_limit_set: bool = False

    @property
    def used(self) -> int:
        return self.total + self.reserved_output

    @property
    def required(self) -> int:
        """What must fit the window for the API to accept the request."""
        return self.total + (self.reserved_output if self.output_limit_set else 0)

    @property
    def fits(self) -> bool:
        return self.required <= self.window

    @property
    def fraction(self) -> float:
        return self.used / self.window if self.window else 1.0

    @property
    def overflow(self) -> int:
        """Tokens to remove before the API accepts the request (0 when it fits)."""
        return max(0, self.required - self.window)

    @property
    def free(self) -> int:
        return max(0, self.window - self.used)

    @property
    def level(self) -> FillLevel:
        if not self.fits:
            return FillLevel.OVER
        if self.fraction >= FILL_FULL:
            return FillLevel.FULL
        return FillLevel.NEAR if self.fraction >= FILL_NEAR else FillLevel.OK

    def tokens_of(self, *kinds: PartKind) -> int:
        return sum(part.tokens for part in self.parts if part.kind in kinds)

    @property
    def image_tokens(self) -> int:
        return sum(part.image_tokens for part in self.parts)

    @property
    def unknown_images(self) -> int:
        return sum(part.unknown_images for part in self.parts)

    @property
    def is_lower_bound(self) -> bool:
        """True when some images could not be sized: the real prompt is larger than ``total``."""
        return self.unknown_images > 0

    @property
    def estimate_notes(self) -> list[str]:
        """Why the figure is an estimate, as short sentences (empty: exact under the cookbook rules)."""
        notes = []
        if self.model_is_guess:
            notes.append(f"figures of {self.model} assumed for '{self.requested_model}'")
        if self.tokens_of("tools"):
            notes.append("tool definitions are estimated")
        if self.tokens_of("schema"):
            notes.append("the response schema is estimated from its JSON")
        if self.unknown_images:
            notes.append(f"{self.unknown_images} image(s) of unknown size counted as 0 (a lower bound)")
        return notes

    @property
    def is_estimate(self) -> bool:
        return bool(self.estimate_notes)

    def message_tokens(self) -> dict[str, int]:
        """Tokens of each conversation message in the request, by message id."""
        return {part.message_id: part.tokens for part in self.parts if part.kind == "message" and part.message_id}


def prompt_breakdown(workspace: Workspace, draft: str = "", *, with_next_message: bool = True) -> Breakdown:
    """The tokens of everything the next request would carry, part by part.

    Reply priming and system prompt, each conversation turn (text with per-message overhead and
    tool calls, plus its images for the chosen model), tool definitions, the response schema, and
    (``with_next_message``) the message being drafted: ``draft`` with the pending images. Without
    it, the breakdown is of the request a reply would be asked with now. The reply's maximum
    length (``max_completion_tokens``, else the model's max output) is reserved against the window.
    """
    spec = workspace.model_spec()
    counter = message_counter(workspace, spec.id)
    parts = [Part("priming", "Reply priming", spec.token_rules.reply_priming)]
    if workspace.system_prompt.strip():
        system = counter.count_text({"role": "system", "content": workspace.system_prompt})
        parts.append(Part("system", "System prompt", system, role="system"))
    for position, message in enumerate(workspace.conversation.messages, start=1):
        if not message.is_sent:
            continue
        counted = counter.count(message)
        parts.append(
            Part(
                "message",
                f"#{position} {message.role}",
                counted.text,
                counted.images,
                counted.unknown_images,
                message.id,
                message.role,
            )
        )
    if workspace.tools:
        parts.append(Part("tools", "Tool definitions", counter.count_tools(workspace.tools)))
    if (response_format := workspace.response_schema.response_format()) is not None:
        parts.append(Part("schema", "Response schema", counter.count_json(response_format["json_schema"])))
    if with_next_message and (draft or workspace.pending_images):
        counted = counter.count(Message(role="user", content=draft, images=workspace.pending_images, id=DRAFT_ID))
        parts.append(Part("draft", "Draft", counted.text, counted.images, counted.unknown_images, role="user"))
    return Breakdown(
        model=spec.id,
        requested_model=spec.requested,
        parts=tuple(parts),
        total=sum(part.tokens for part in parts),
        window=spec.context_window,
        reserved_output=workspace.params.max_completion_tokens or spec.max_output_tokens,
        model_is_guess=spec.is_estimate,
        output_limit_set=workspace.params.max_completion_tokens is not None,
    )


def context_categories(breakdown: Breakdown) -> list[tuple[str, int]]:
    """What takes the space, grouped: system, conversation text, images, tools, schema, draft."""
    categories = [
        ("System prompt & priming", breakdown.tokens_of("priming", "system")),
        ("Conversation text", sum(part.text_tokens for part in breakdown.parts if part.kind == "message")),
        ("Images", breakdown.image_tokens),
        ("Tool definitions (est.)", breakdown.tokens_of("tools")),
        ("Response schema (est.)", breakdown.tokens_of("schema")),
        ("Draft", sum(part.text_tokens for part in breakdown.parts if part.kind == "draft")),
    ]
    return [(label, tokens) for label, tokens in categories if tokens]


# ---------------------------------------------------------------------------------------------
# Making room when a request cannot fit


@dataclass(frozen=True)
class RoomPlan:
    """What one "make room" click would drop, and whether the request then fits."""

    strategy: RoomStrategy
    count: int  # turns (exchanges) or images dropped
    messages: int  # messages removed (turns only)
    freed_tokens: int
    fits: bool


def _oldest_turns(workspace: Workspace, tokens_by_id: dict[str, int]) -> list[tuple[int, int]]:
    """(messages, tokens) of each exchange before the latest user message, oldest first.

    An exchange starts at a user message and runs to the next one, so an assistant's tool calls and
    the tool results answering them are dropped together (the API rejects orphaned tool messages).
    """
    messages = workspace.conversation.messages
    last_user = max((index for index, message in enumerate(messages) if message.role == "user"), default=0)
    turns: list[list[int]] = []
    for message in messages[:last_user]:
        if message.role == "user" or not turns:
            turns.append([0, 0])
        turns[-1][0] += 1
        turns[-1][1] += tokens_by_id.get(message.id, 0)
    return [(count, tokens) for count, tokens in turns]


def _droppable_images(workspace: Workspace) -> list[tuple[list[ImageAttachment], ImageAttachment, int]]:
    """(owner list, image, tokens) of every measurable image of the held request, oldest first.

    Pending images are not in that request (they wait for the next message): dropping them frees nothing.
    """
    counter = message_counter(workspace, workspace.model_spec().id)
    owners = [message.images for message in workspace.conversation.messages if message.is_sent]
    found = []
    for images in owners:
        for image in images:
            if tokens := counter.image_tokens(image):  # unknown or free images would free nothing
                found.append((images, image, tokens))
    return found


def plan_room(workspace: Workspace, strategy: RoomStrategy) -> RoomPlan | None:
    """The least to drop so the pending request fits (None: it fits already, or nothing to drop).

    ``turns`` drops whole exchanges, oldest first, never the system prompt or the latest user
    message; ``images`` drops the conversation's image attachments, oldest first. When dropping
    everything droppable is still not enough, the plan says so (``fits=False``).
    """
    breakdown = prompt_breakdown(workspace, with_next_message=False)
    if breakdown.fits:
        return None
    if strategy == "turns":
        sizes = _oldest_turns(workspace, breakdown.message_tokens())
    else:
        sizes = [(0, tokens) for _, _, tokens in _droppable_images(workspace)]
    count = messages = freed = 0
    for message_count, tokens in sizes:
        if freed >= breakdown.overflow:
            break
        count, messages, freed = count + 1, messages + message_count, freed + tokens
    if count == 0:
        return None
    return RoomPlan(strategy, count, messages, freed, fits=freed >= breakdown.overflow)


def make_room(workspace: Workspace, strategy: RoomStrategy) -> RoomPlan | None:
    """Apply :func:`plan_room`; when the request then fits, it is queued to be sent again."""
    plan = plan_room(workspace, strategy)
    if plan is None:
        return None
    if strategy == "turns":
        remember_usage(workspace)  # the dropped replies still count in the session's cost
        del workspace.conversation.messages[: plan.messages]
    else:
        for images, image, _ in _droppable_images(workspace)[: plan.count]:
            images.remove(image)
    if plan.fits and workspace.conversation.ends_with_user_turn():
        workspace.awaiting_reply = True
    return plan


def hold_oversized_request(workspace: Workspace) -> Breakdown | None:
    """Stop an unanswered request that cannot fit the window from being sent.

    Returns its breakdown (None when nothing is blocked) and clears ``awaiting_reply``: the user's
    message is kept, unanswered, and stays blocked until room is made (:func:`make_room`, which
    queues it again) or the message is removed.
    """
    if not (workspace.awaiting_reply or workspace.conversation.ends_with_user_turn()):
        return None
    breakdown = prompt_breakdown(workspace, with_next_message=False)
    if breakdown.fits:
        return None
    workspace.awaiting_reply = False
    return breakdown


# ---------------------------------------------------------------------------------------------
# Prices and per-turn usage


def tier_prices(spec: ModelSpec) -> list[tuple[str, str, Price]]:
    """(tier id, label, price) of every registry tier priced for this model, in registry order."""
    return [
        (tier, info.label, price) for tier, info in price_tiers().items() if (price := spec.price(tier)) is not None
    ]


def applied_price_label(workspace: Workspace) -> str:
    """Which prices the costs use: the session override, or the tier's label."""
    if workspace.model_spec().id in workspace.price_overrides:
        return "custom prices (session override)"
    tier = workspace.tier()
    return price_tiers()[tier].label if tier in price_tiers() else tier


def set_price_override(workspace: Workspace, price: Price | None) -> None:
    """Use ``price`` for the current model for the rest of the session (None: back to the tier)."""
    model = workspace.model_spec().id
    if price is None:
        workspace.price_overrides.pop(model, None)
    else:
        workspace.price_overrides[model] = price


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


def _usage_of(message: Message) -> ReplyStats | None:
    """A reply's stats, when the API reported its usage."""
    stats = message.stats
    return stats if message.role == "assistant" and stats is not None and stats.prompt_tokens is not None else None


def _reply_coster(workspace: Workspace) -> Callable[[ReplyStats], float | None]:
    """Costs a reply from its usage at the price that applies now (None: no price for its model)."""
    prices: dict[tuple[str, str | None], Price | None] = {}

    def cost(stats: ReplyStats) -> float | None:
        served_by = (stats.model, stats.served_model)
        if served_by not in prices:
            prices[served_by] = workspace.reply_price(stats)
        price = prices[served_by]
        if price is None or stats.prompt_tokens is None:
            return None
        return request_cost(price, stats.prompt_tokens, stats.completion_tokens or 0, stats.cached_tokens)

    return cost


def usage_rows(workspace: Workspace) -> list[TurnUsage]:
    """Every reply with usage in the conversation, costed from that usage at the price that applies now.

    Past turns are recomputed (not read from ``stats.cost_usd``) so the whole table uses one tier,
    and changing the tier or overriding a price changes every row consistently.
    """
    spec = workspace.model_spec()
    counter = message_counter(workspace, spec.id)
    cost_of = _reply_coster(workspace)
    rows: list[TurnUsage] = []
    images_so_far = 0  # history is resent with every request, so are its images
    cumulative = 0.0
    for message in workspace.conversation.messages:
        if message.role == "user" and message.is_sent:
            images_so_far += counter.count(message).images
        if (stats := _usage_of(message)) is None:
            continue
        prompt = stats.prompt_tokens or 0  # never 0 here: _usage_of checked it is set
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
                window=spec.context_window,
                finish_reason=stats.finish_reason,
            )
        )
    return rows


def remember_usage(workspace: Workspace, replies: Iterable[Message] | None = None) -> None:
    """Note every reply with usage in ``workspace.usage_ledger``, which outlives the conversation.

    ``replies`` defaults to the conversation's; requests made outside it (schema test runs) pass theirs.
    """
    for message in workspace.conversation.messages if replies is None else replies:
        if (stats := _usage_of(message)) is not None:
            workspace.usage_ledger.setdefault(message.id, stats)


def session_cost(workspace: Workspace) -> float:
    """USD spent this session at the applied price, including replies no longer in the conversation.

    Dropped, deleted, regenerated and cleared replies were paid for: the ledger keeps them (replies
    are noted here, on every rerun that draws the meter, and before :func:`make_room` drops any).
    Replies whose model has no price for the tier add nothing.
    """
    remember_usage(workspace)
    cost_of = _reply_coster(workspace)
    return sum(cost for stats in workspace.usage_ledger.values() if (cost := cost_of(stats)) is not None)


@dataclass(frozen=True)
class EstimateAccuracy:
    """How close our pre-send estimates were to the API's prompt_tokens, over ``replies`` replies."""

    replies: int
    mean_abs_error: float  # tokens
    mean_abs_error_fraction: float

    @property
    def accuracy(self) -> float:
        return max(0.0, 1.0 - self.mean_abs_error_fraction)


def running_accuracy(rows: Iterable[TurnUsage]) -> list[EstimateAccuracy | None]:
    """The accuracy of our estimates up to each row (None until a row has an estimate)."""
    series: list[EstimateAccuracy | None] = []
    count, abs_tokens, abs_fraction = 0, 0.0, 0.0
    for row in rows:
        if row.estimate_error is not None and row.estimate_error_fraction is not None:
            count += 1
            abs_tokens += abs(row.estimate_error)
            abs_fraction += abs(row.estimate_error_fraction)
        series.append(EstimateAccuracy(count, abs_tokens / count, abs_fraction / count) if count else None)
    return series


# ---------------------------------------------------------------------------------------------
# Projections


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


# ---------------------------------------------------------------------------------------------
# Export

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
