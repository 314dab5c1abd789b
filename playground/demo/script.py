"""The scripted demo: a saved session's user turns become a script that "Next" plays, live or replayed.

:class:`ScriptedDemo` is plain, serialisable state (pydantic) plus the moves of a small state
machine; the conversation it plays into is a :class:`DemoStage` (the session's Workspace):

- ``next(stage)`` sends the script's next user turn. LIVE: through the stage's real client (tool
  calls are answered with the recording's outputs for the same tool, else the stage's mock
  outputs); REPLAY: from the recording, at its recorded pace, with no network and no key.
- A live turn that fails with a network, rate-limit, quota, timeout or server error (see
  :data:`RECORDING_FALLBACK_KINDS`) sets :attr:`ScriptedDemo.failure`; then
  ``continue_from_recording(stage)`` replaces the failed attempt with the recording of that turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, Field

from playground.chat import DEFAULT_REFRESH_S
from playground.conversation import Conversation, ErrorInfo, ImageAttachment, Message, Status
from playground.demo.recording import RecordedTurn, SessionRecording
from playground.demo.replay import Clock
from playground.errors import ErrorKind, PlaygroundError
from playground.tools import unanswered_calls

#: Live failures the recording can stand in for: the venue's network, the provider's limits, a
#: missing or rejected key. Errors about the request itself (bad request, content filter, context
#: length) are shown as they are: the recording would hide a real problem with the prompt.
RECORDING_FALLBACK_KINDS = frozenset(
    {
        ErrorKind.CONNECTION,
        ErrorKind.TIMEOUT,
        ErrorKind.STREAM_INTERRUPTED,
        ErrorKind.RATE_LIMIT,
        ErrorKind.QUOTA,
        ErrorKind.SERVER,
        ErrorKind.AUTH,
        ErrorKind.CONFIGURATION,
    }
)
#: The most model calls one live turn makes (a reply, tool results, the next reply, ...).
MAX_LIVE_STEPS = 8


class DemoStage(Protocol):
    """Where a demo plays: the Workspace implements it (its methods are the only writers)."""

    conversation: Conversation
    tool_mock_outputs: dict[str, str]

    def attach_image(self, image: ImageAttachment) -> None: ...

    def submit(self, text: str) -> Message: ...

    def stream_next_reply(self) -> Iterator[Message]: ...

    def answer_tool_calls(self, outputs: dict[str, str]) -> None: ...

    def replay_turn(
        self, turn: RecordedTurn, *, resume: bool = False, clock: Clock | None = None, refresh_interval_s: float = ...
    ) -> Iterator[Message]: ...


class DemoMode(StrEnum):
    LIVE = "live"  # replies come from the model, through the real client
    REPLAY = "replay"  # replies come from the recording


class TurnFailure(BaseModel):
    """A live turn that failed: which one, why, and whether its recording can take over."""

    turn: int
    error: ErrorInfo
    can_continue_from_recording: bool


class ScriptedDemo(BaseModel):
    """A scripted demo's state: the recording, the mode, the next turn, and a pending failure."""

    recording: SessionRecording
    mode: DemoMode = DemoMode.REPLAY
    position: int = Field(default=0, ge=0)  # the next turn "Next" sends
    failure: TurnFailure | None = None

    @classmethod
    def from_conversation(cls, conversation: Conversation, mode: DemoMode = DemoMode.REPLAY) -> ScriptedDemo:
        return cls(recording=SessionRecording.from_conversation(conversation), mode=mode)

    @property
    def script(self) -> list[str]:
        return self.recording.script

    @property
    def next_line(self) -> str | None:
        """The user text "Next" would send (None at the end of the script)."""
        return self.script[self.position] if self.position < len(self.script) else None

    @property
    def finished(self) -> bool:
        return self.position >= len(self.recording.turns)

    @property
    def offers_recording(self) -> bool:
        """Whether to show "Continue from the recording" (a live turn failed and can fall back)."""
        return self.failure is not None and self.failure.can_continue_from_recording

    def set_mode(self, mode: DemoMode) -> None:
        self.mode = mode

    def restart(self) -> None:
        """Back to the first line (the caller clears the stage's conversation)."""
        self.position = 0
        self.failure = None

    def next(
        self, stage: DemoStage, *, clock: Clock | None = None, refresh_interval_s: float = DEFAULT_REFRESH_S
    ) -> Iterator[Message]:
        """Send the next user turn; yields the message being drawn at each redraw.

        Raises PlaygroundError (INVALID_INPUT) at the end of the script. A pending failure is
        dismissed: "Next" after a failure moves on. The turn counts as sent once it starts (a
        Stop leaves the partial reply, and "Next" goes on with the following turn).
        """
        if self.finished:
            raise PlaygroundError.invalid_input("The script has no more turns: restart the demo to play it again.")
        turn_number = self.position
        turn = self.recording.turns[turn_number]
        self.position += 1
        self.failure = None
        if self.mode is DemoMode.REPLAY:
            return stage.replay_turn(turn, clock=clock, refresh_interval_s=refresh_interval_s)
        return self._live(stage, turn_number, turn)

    def continue_from_recording(
        self, stage: DemoStage, *, clock: Clock | None = None, refresh_interval_s: float = DEFAULT_REFRESH_S
    ) -> Iterator[Message]:
        """Replace the failed live attempt of a turn with its recording (one click)."""
        if self.failure is None or not self.failure.can_continue_from_recording:
            raise PlaygroundError.invalid_input("No failed live turn to continue from its recording.")
        turn = self.recording.turns[self.failure.turn]
        self.failure = None
        return stage.replay_turn(turn, resume=True, clock=clock, refresh_interval_s=refresh_interval_s)

    def _live(self, stage: DemoStage, turn_number: int, turn: RecordedTurn) -> Iterator[Message]:
        for image in turn.images:
            stage.attach_image(image)
        try:
            user = stage.submit(turn.user_text)
        except PlaygroundError:  # nothing was sent (e.g. tool calls left unanswered): the turn is still next
            self.position = turn_number
            raise
        yield user
        recorded_outputs = turn.recorded_outputs()
        for _ in range(MAX_LIVE_STEPS):
            try:
                reply: Message | None = None
                for reply in stage.stream_next_reply():
                    yield reply
            except PlaygroundError as error:  # refused before sending (a parameter out of bounds)
                self._fail(turn_number, ErrorInfo.from_error(error))
                return
            if reply is None or reply.status is not Status.COMPLETE:
                if reply is not None and reply.status is Status.FAILED and reply.error is not None:
                    self._fail(turn_number, reply.error)
                return
            calls = unanswered_calls(stage.conversation)
            if not calls:
                return
            outputs: dict[str, str] = {}
            for call in calls:
                recorded = recorded_outputs.get(call.name)
                if recorded:
                    outputs[call.id] = recorded.pop(0)
                elif call.name in stage.tool_mock_outputs:
                    outputs[call.id] = stage.tool_mock_outputs[call.name]
                else:
                    message = f"The model called {call.name}, which has no recorded or mock output to answer with."
                    self._fail(turn_number, ErrorInfo(ErrorKind.INVALID_INPUT, message), fallback=True)
                    return
            stage.answer_tool_calls(outputs)
            yield from stage.conversation.messages[-len(outputs) :]

    def _fail(self, turn_number: int, error: ErrorInfo, *, fallback: bool | None = None) -> None:
        can_fall_back = error.kind in RECORDING_FALLBACK_KINDS if fallback is None else fallback
        self.failure = TurnFailure(
            turn=turn_number,
            error=error,
            can_continue_from_recording=can_fall_back and bool(self.recording.turns[turn_number].steps),
        )
