"""Recordings: what a conversation's replies need to be played back faithfully, without the model.

A :class:`SessionRecording` is derived from a :class:`~playground.conversation.Conversation`: one
:class:`RecordedTurn` per user message, holding what followed it (replies with their text, refusal,
tool calls, structured-output verdict and pace; tool results). It is pydantic, so it serialises to
JSON with the saved session.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from playground.conversation import Conversation, ErrorInfo, ImageAttachment, Message, ReplyStats, Status, ToolCall
from playground.schema import ReplyValidation

RECORDING_FORMAT: Final = "playground.recording"
RECORDING_VERSION: Final = 1
# Used when a reply was saved without timings (an imported or hand-written session).
FALLBACK_TIME_TO_FIRST_TOKEN_S = 0.5
FALLBACK_TOKENS_PER_SECOND = 60.0
CHARACTERS_PER_TOKEN = 4.0  # only when the reply has no token count either


class Pace(BaseModel):
    """How fast a reply came: time to first token, token rate, and the live redraw marks if any."""

    model_config = ConfigDict(frozen=True)

    time_to_first_token_s: float = Field(ge=0)
    tokens_per_second: float = Field(gt=0)
    completion_tokens: int | None = Field(default=None, ge=0)
    # (seconds since the request, characters shown) measured live; empty: synthesised from the rest.
    marks: list[tuple[float, int]] = Field(default_factory=list)

    @classmethod
    def of(cls, stats: ReplyStats | None) -> Pace:
        """The pace recorded in ``stats``; fallbacks for what it lacks (a reply saved without timings)."""
        if stats is None:
            return cls(
                time_to_first_token_s=FALLBACK_TIME_TO_FIRST_TOKEN_S, tokens_per_second=FALLBACK_TOKENS_PER_SECOND
            )
        ttft = stats.time_to_first_token_s
        rate = stats.tokens_per_second
        return cls(
            time_to_first_token_s=FALLBACK_TIME_TO_FIRST_TOKEN_S if ttft is None else max(ttft, 0.0),
            tokens_per_second=rate if rate is not None and rate > 0 else FALLBACK_TOKENS_PER_SECOND,
            completion_tokens=stats.completion_tokens,
            marks=list(stats.pace_marks),
        )

    def steps(self, total_characters: int, refresh_interval_s: float) -> list[tuple[float, int]]:
        """When to show how many characters: ``(seconds from the start, characters shown)``, rising.

        The live marks when they were recorded (the replay then shows what the live stream showed,
        when it showed it); otherwise the first characters at the time to first token, then an even
        flow at the token rate, one step per ``refresh_interval_s``. The last step shows everything.
        """
        if total_characters <= 0:
            return [(self.time_to_first_token_s, 0)]
        marks = [(time, min(shown, total_characters)) for time, shown in self.marks if shown > 0]
        if marks:
            if marks[-1][1] < total_characters:
                marks.append((marks[-1][0], total_characters))
            return marks
        tokens = self.completion_tokens or max(1, math.ceil(total_characters / CHARACTERS_PER_TOKEN))
        generating_s = tokens / self.tokens_per_second
        first = min(total_characters, math.ceil(total_characters / tokens))
        start = self.time_to_first_token_s
        steps = [(start, first)]
        interval = max(refresh_interval_s, 1e-3)
        elapsed = interval
        while elapsed < generating_s:
            shown = first + math.floor((total_characters - first) * elapsed / generating_s)
            if shown > steps[-1][1]:
                steps.append((start + elapsed, shown))
            elapsed += interval
        steps.append((start + generating_s, total_characters))
        return steps


class RecordedReply(BaseModel):
    """One assistant reply as it ended: what it showed, how it ended, and its pace."""

    kind: Literal["reply"] = "reply"
    content: str = ""
    refusal: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    status: Status = Status.COMPLETE
    error: ErrorInfo | None = None
    stats: ReplyStats | None = None
    schema_check: ReplyValidation | None = None
    pace: Pace

    @classmethod
    def of(cls, message: Message) -> RecordedReply:
        return cls(
            content=message.content,
            refusal=message.refusal,
            tool_calls=[replace(call) for call in message.tool_calls],
            status=Status.STOPPED if message.status is Status.STREAMING else message.status,
            error=replace(message.error) if message.error else None,
            # The marks live in ``pace`` (once): the stats keep the figures a stats line shows.
            stats=replace(message.stats, content_filter=dict(message.stats.content_filter), pace_marks=[])
            if message.stats
            else None,
            schema_check=message.schema_check.model_copy(deep=True) if message.schema_check else None,
            pace=Pace.of(message.stats),
        )

    @property
    def output_characters(self) -> int:
        """Characters a replay reveals: the text, then the refusal, then each call's arguments."""
        return len(self.content) + len(self.refusal or "") + sum(len(call.arguments) for call in self.tool_calls)


class RecordedToolResult(BaseModel):
    """A tool's output as the conversation carried it (shown at once in a replay)."""

    kind: Literal["tool_result"] = "tool_result"
    tool_call_id: str | None = None
    content: str = ""
    name: str | None = None


RecordedStep = Annotated[RecordedReply | RecordedToolResult, Field(discriminator="kind")]


class RecordedTurn(BaseModel):
    """A user message (the script's line) and everything that answered it, in order."""

    user_text: str
    images: list[ImageAttachment] = Field(default_factory=list)
    steps: list[RecordedStep] = Field(default_factory=list)

    @property
    def replies(self) -> list[RecordedReply]:
        return [step for step in self.steps if isinstance(step, RecordedReply)]

    def recorded_outputs(self) -> dict[str, list[str]]:
        """Recorded tool outputs by tool name, in the order they were given (to answer live calls)."""
        names = {call.id: call.name for reply in self.replies for call in reply.tool_calls}
        outputs: dict[str, list[str]] = {}
        for step in self.steps:
            if isinstance(step, RecordedToolResult):
                name = step.name or names.get(step.tool_call_id or "")
                if name:
                    outputs.setdefault(name, []).append(step.content)
        return outputs


class SessionRecording(BaseModel):
    """A saved conversation as a demo script with its recorded answers. Messages before the first
    user message are not part of any turn (a script starts with what the user says)."""

    format: Literal["playground.recording"] = RECORDING_FORMAT
    version: Literal[1] = RECORDING_VERSION
    turns: list[RecordedTurn] = Field(default_factory=list)

    @classmethod
    def from_conversation(cls, conversation: Conversation) -> SessionRecording:
        turns: list[RecordedTurn] = []
        for message in conversation.messages:
            if message.role == "user":
                images = [replace(image) for image in message.images]
                turns.append(RecordedTurn(user_text=message.content, images=images))
            elif not turns or message.role == "system":
                continue
            elif message.role == "assistant":
                turns[-1].steps.append(RecordedReply.of(message))
            else:
                turns[-1].steps.append(
                    RecordedToolResult(tool_call_id=message.tool_call_id, content=message.content, name=message.name)
                )
        return cls(turns=turns)

    @property
    def script(self) -> list[str]:
        """The user turns, in order: what "Next" sends."""
        return [turn.user_text for turn in self.turns]
