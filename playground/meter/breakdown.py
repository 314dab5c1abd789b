"""What the next request carries, part by part, against the model's window.

One counting path: :func:`prompt_breakdown` is what the live meter, the meter panel, the send gate
and ``Workspace.estimate_prompt_tokens`` all use. It is incremental: each message is counted once
per content and model (:class:`MessageCounter`), so a rerun over an unchanged 1M-token conversation
costs dictionary lookups, not a tiktoken pass.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from playground.conversation import ImageAttachment, Message
from playground.registry import ModelSpec, TokenRules
from playground.tokens import TokenCounter, count_message_tokens, count_tools_tokens

#: Context fill at which the meter turns from green to orange, and from orange to red. UI policy,
#: not a model limit: the window itself comes from the registry.
FILL_NEAR = 0.75
FILL_FULL = 0.95
#: Id of the not-yet-sent user message (the draft and pending images) in the message cache.
DRAFT_ID = "draft"

PartKind = Literal["priming", "system", "message", "tools", "schema", "draft"]


class FillLevel(StrEnum):
    """How full the window is once the reply's maximum length is reserved."""

    OK = "ok"  # below FILL_NEAR
    NEAR = "near"  # FILL_NEAR up to FILL_FULL
    FULL = "full"  # FILL_FULL and above, but it still fits
    OVER = "over"  # the request cannot be sent


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
    Keep one per session (the Workspace does): its cache holds the session's own texts.
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

    def count_tools(self, tools: Sequence[dict[str, Any]]) -> int:
        return count_tools_tokens(list(tools), self._counter, self._rules)

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
        """Share of the window the prompt and the reserved reply take together."""
        return self.used / self.window if self.window else 1.0

    @property
    def prompt_fraction(self) -> float:
        """Share of the window the prompt alone takes."""
        return self.total / self.window if self.window else 1.0

    @property
    def reserved_fraction(self) -> float:
        """Share of the window kept for the reply."""
        return self.reserved_output / self.window if self.window else 1.0

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
    def has_next_message(self) -> bool:
        """Whether the request includes the message being drafted (text or pending images)."""
        return any(part.kind == "draft" for part in self.parts)

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


def prompt_breakdown(
    counter: MessageCounter,
    spec: ModelSpec,
    *,
    system_prompt: str = "",
    messages: Sequence[Message] = (),
    tools: Sequence[dict[str, Any]] = (),
    response_format: dict[str, Any] | None = None,
    next_message: Message | None = None,
    max_completion_tokens: int | None = None,
) -> Breakdown:
    """The tokens of everything the next request would carry, part by part.

    Reply priming and system prompt, each conversation message that is sent (text with
    per-message overhead and tool calls, plus its images for ``spec``), tool definitions, the
    response schema (``response_format``'s ``json_schema``), and ``next_message``: the message
    being drafted, if any. ``counter`` must count for ``spec``'s model. The reply's maximum length
    (``max_completion_tokens``, else the model's max output) is reserved against the window.
    """
    parts = [Part("priming", "Reply priming", spec.token_rules.reply_priming)]
    if system_prompt.strip():
        system = counter.count_text({"role": "system", "content": system_prompt})
        parts.append(Part("system", "System prompt", system, role="system"))
    for position, message in enumerate(messages, start=1):
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
    if tools:
        parts.append(Part("tools", "Tool definitions", counter.count_tools(tools)))
    if response_format is not None and "json_schema" in response_format:
        parts.append(Part("schema", "Response schema", counter.count_json(response_format["json_schema"])))
    if next_message is not None:
        counted = counter.count(next_message)
        parts.append(Part("draft", "Draft", counted.text, counted.images, counted.unknown_images, role="user"))
    return Breakdown(
        model=spec.id,
        requested_model=spec.requested,
        parts=tuple(parts),
        total=sum(part.tokens for part in parts),
        window=spec.context_window,
        reserved_output=max_completion_tokens or spec.max_output_tokens,
        model_is_guess=spec.is_estimate,
        output_limit_set=max_completion_tokens is not None,
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
