"""Offline replay: recorded replies stream back at their recorded pace, with no network and no key.

:func:`replay_reply` is the stand-in for :func:`playground.chat.stream_reply`: it fills the same
kind of :class:`~playground.conversation.Message` and yields it at each redraw, so the UI draws a
replay exactly like a live reply. Every replayed message has ``replayed=True`` (the UI says so).
Time comes from a :class:`Clock`, so tests run a replay instantly with a :class:`ManualClock`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Protocol

from playground.chat import DEFAULT_REFRESH_S
from playground.conversation import Conversation, Message, ReplyStats, Status, ToolCall
from playground.demo.recording import RecordedReply, RecordedToolResult, RecordedTurn


class Clock(Protocol):
    """Monotonic time in seconds, and a way to wait."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(seconds, 0.0))


class ManualClock:
    """A clock that only moves when slept on: a replay under it takes no real time (tests)."""

    def __init__(self, start: float = 0.0) -> None:
        self.time = start

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.time += max(seconds, 0.0)


def _reveal(reply: Message, recorded: RecordedReply, shown: int) -> None:
    """Show the first ``shown`` output characters: the text, then the refusal, then each call's arguments."""
    reply.content = recorded.content[:shown]
    shown -= len(recorded.content)
    if recorded.refusal is not None and shown > 0:
        reply.refusal = recorded.refusal[:shown]
    shown -= len(recorded.refusal or "")
    calls: list[ToolCall] = []
    for call in recorded.tool_calls:
        if shown < 0 or (shown == 0 and call.arguments):
            break
        calls.append(ToolCall(id=call.id, name=call.name, arguments=call.arguments[:shown]))
        shown -= len(call.arguments)
    reply.tool_calls = calls


def replay_reply(
    recorded: RecordedReply,
    reply: Message,
    *,
    clock: Clock | None = None,
    refresh_interval_s: float = DEFAULT_REFRESH_S,
) -> Iterator[Message]:
    """Fill ``reply`` from ``recorded`` at the recorded pace, yielding it whenever the UI should redraw.

    Yields at once (the reply opened, empty), then at each step of the recorded pace, then once at
    the end with the recorded status, error, stats and structured-output verdict. If the consumer
    stops early, the reply is marked STOPPED with what it showed so far (as a live stream would).
    """
    clock = clock or SystemClock()
    reply.replayed = True
    reply.status = Status.STREAMING
    recorded_stats = recorded.stats or ReplyStats(model="recording")
    reply.stats = replace(
        recorded_stats, content_filter=dict(recorded_stats.content_filter), pace_marks=list(recorded.pace.marks)
    )
    started = clock.now()
    try:
        yield reply
        for at_s, shown in recorded.pace.steps(recorded.output_characters, refresh_interval_s):
            if (wait_s := started + at_s - clock.now()) > 0:  # a slow consumer is not made to wait more
                clock.sleep(wait_s)
            _reveal(reply, recorded, shown)
            yield reply
        _reveal(reply, recorded, recorded.output_characters)
        reply.error = replace(recorded.error) if recorded.error else None
        reply.schema_check = recorded.schema_check.model_copy(deep=True) if recorded.schema_check else None
        reply.status = recorded.status
    finally:
        if reply.status is Status.STREAMING:
            reply.status = Status.STOPPED
    yield reply


def replay_turn(
    conversation: Conversation,
    turn: RecordedTurn,
    *,
    resume: bool = False,
    clock: Clock | None = None,
    refresh_interval_s: float = DEFAULT_REFRESH_S,
) -> Iterator[Message]:
    """Play ``turn`` into ``conversation``: its user message, then its replies at their pace and its
    tool results at once, yielding the message being drawn at each redraw.

    ``resume``: the turn's user message is already the conversation's last one (a live attempt of
    it failed): whatever followed it is dropped and the recording continues from there. If the last
    user message is not the turn's (the chat was cleared since), the turn is played whole.
    """
    clock = clock or SystemClock()
    users = [index for index, message in enumerate(conversation.messages) if message.role == "user"]
    if resume and users and conversation.messages[users[-1]].content == turn.user_text:
        del conversation.messages[users[-1] + 1 :]
    else:  # a fresh turn (or nothing left to resume: the conversation was cleared or moved on)
        user = Message(role="user", content=turn.user_text, images=[replace(i) for i in turn.images], replayed=True)
        conversation.messages.append(user)
        yield user
    for step in turn.steps:
        if isinstance(step, RecordedToolResult):
            result = Message(
                role="tool", content=step.content, tool_call_id=step.tool_call_id, name=step.name, replayed=True
            )
            conversation.messages.append(result)
            yield result
            continue
        reply = Message(role="assistant", replayed=True)
        conversation.messages.append(reply)
        yield from replay_reply(step, reply, clock=clock, refresh_interval_s=refresh_interval_s)
