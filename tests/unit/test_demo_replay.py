"""Recordings and offline replay: what a reply needs to play back, at its recorded pace, with no network."""

from __future__ import annotations

import json
import time

import pytest

from playground.chat import output_characters, stream_reply
from playground.conversation import Conversation, ErrorInfo, Message, ReplyStats, Status, ToolCall
from playground.demo import (
    ManualClock,
    Pace,
    RecordedReply,
    SessionRecording,
    SystemClock,
    replay_reply,
    replay_turn,
)
from playground.errors import ErrorKind
from playground.schema import validate_reply
from playground.workspace import Workspace
from tests.fakes.server import Scenario

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}


class RecordingClock(ManualClock):
    """A manual clock that notes when each update was drawn."""

    def __init__(self) -> None:
        super().__init__(start=100.0)
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        super().sleep(seconds)


def reply(content="", *, ttft=0.4, rate=50.0, tokens=20, **fields) -> Message:
    stats = ReplyStats(
        model="gpt-4.1-mini",
        prompt_tokens=30,
        completion_tokens=tokens,
        time_to_first_token_s=ttft,
        tokens_per_second=rate,
        cost_usd=0.001,
    )
    return Message(role="assistant", content=content, stats=stats, **fields)


def tool_session() -> Conversation:
    """A three-turn session: plain text, a tool call with its result and answer, a structured reply."""
    conversation = Conversation()
    conversation.add_user("Hello")
    conversation.messages.append(reply("Hi! How can I help today?"))
    conversation.add_user("Weather in Paris?")
    call = ToolCall(id="call_1", name="get_weather", arguments='{"city": "Paris"}')
    conversation.messages.append(reply("", tool_calls=[call], tokens=8))
    conversation.messages.append(Message(role="tool", content='{"temp_c": 21}', tool_call_id="call_1"))
    conversation.messages.append(reply("It is 21 °C in Paris.", tokens=9))
    conversation.add_user("As JSON please")
    structured = reply('{"city": "Paris"}', tokens=6)
    structured.schema_check = validate_reply(SCHEMA, structured.content)
    conversation.messages.append(structured)
    return conversation


def drain(updates, clock: ManualClock) -> list[tuple[float, Message, int]]:
    return [(clock.now(), update, output_characters(update)) for update in updates]


# --- recording --------------------------------------------------------------------------------
def test_recording_keeps_turns_tool_calls_results_schema_and_pace_and_round_trips_json():
    recording = SessionRecording.from_conversation(tool_session())
    assert recording.script == ["Hello", "Weather in Paris?", "As JSON please"]
    tool_turn = recording.turns[1]
    kinds = [step.kind for step in tool_turn.steps]
    assert kinds == ["reply", "tool_result", "reply"]
    assert tool_turn.replies[0].tool_calls[0].arguments == '{"city": "Paris"}'
    assert tool_turn.recorded_outputs() == {"get_weather": ['{"temp_c": 21}']}
    assert recording.turns[2].replies[0].schema_check.parsed == {"city": "Paris"}
    assert recording.turns[0].replies[0].pace.time_to_first_token_s == 0.4
    again = SessionRecording.model_validate_json(recording.model_dump_json())
    assert again == recording
    assert json.loads(recording.model_dump_json())["format"] == "playground.recording"


def test_a_reply_left_streaming_is_recorded_as_stopped_and_missing_timings_fall_back():
    conversation = Conversation()
    conversation.add_user("q")
    conversation.messages.append(Message(role="assistant", content="part", status=Status.STREAMING))
    recorded = SessionRecording.from_conversation(conversation).turns[0].replies[0]
    assert recorded.status is Status.STOPPED
    assert recorded.pace.time_to_first_token_s > 0 and recorded.pace.tokens_per_second > 0


# --- replay timing (fake clock) ---------------------------------------------------------------
def test_replay_follows_time_to_first_token_and_token_rate():
    text = "word " * 40  # 200 characters, 50 tokens at 100 tokens/s: 0.5 s after a 0.3 s first token
    recorded = RecordedReply.of(reply(text, ttft=0.3, rate=100.0, tokens=50))
    clock = RecordingClock()
    target = Message(role="assistant")
    updates = drain(replay_reply(recorded, target, clock=clock, refresh_interval_s=0.05), clock)
    started = 100.0
    first_visible = next(at for at, _, shown in updates if shown > 0)
    assert first_visible - started == pytest.approx(0.3, rel=0.01)
    assert updates[-1][0] - started == pytest.approx(0.8, rel=0.01)
    # In between, the text flows at the token rate: half the reply is shown half-way through.
    halfway = [shown for at, _, shown in updates if at - started <= 0.3 + 0.25]
    assert halfway[-1] == pytest.approx(100, abs=10)
    assert target.content == text and target.status is Status.COMPLETE and target.replayed
    assert target.stats.time_to_first_token_s == 0.3 and target.stats.tokens_per_second == 100.0
    assert all(gap <= 0.3 + 1e-9 for gap in clock.sleeps)  # redraws at least every refresh interval


def test_replay_follows_the_live_marks_when_they_were_recorded():
    stats = ReplyStats(model="m", time_to_first_token_s=0.2, tokens_per_second=10.0)
    stats.pace_marks = [(0.2, 3), (0.9, 7), (1.5, 11)]
    recorded = RecordedReply.of(Message(role="assistant", content="hello world", stats=stats))
    clock = ManualClock()
    updates = drain(replay_reply(recorded, Message(role="assistant"), clock=clock), clock)
    shown_at = [(round(at, 3), shown) for at, _, shown in updates]
    assert shown_at[0] == (0.0, 0)  # the reply opens empty at once, like the live stream
    assert (0.2, 3) in shown_at and (0.9, 7) in shown_at and shown_at[-1] == (1.5, 11)
    assert [update.content for _, update, _ in updates][-1] == "hello world"


def test_pace_steps_are_rising_and_end_with_everything():
    pace = Pace(time_to_first_token_s=0.1, tokens_per_second=20.0, completion_tokens=10)
    steps = pace.steps(123, 0.05)
    times = [at for at, _ in steps]
    shown = [count for _, count in steps]
    assert times == sorted(times) and shown == sorted(shown)
    assert steps[0][0] == 0.1 and steps[-1] == (pytest.approx(0.6), 123)


def test_stopping_a_replay_keeps_what_it_showed_and_marks_it_stopped():
    recorded = RecordedReply.of(reply("x" * 400, ttft=0.1, rate=10.0, tokens=100))
    target = Message(role="assistant")
    updates = replay_reply(recorded, target, clock=ManualClock())
    for _ in range(5):
        next(updates)
    updates.close()
    assert target.status is Status.STOPPED and 0 < len(target.content) < 400 and target.replayed


def test_a_recorded_failure_replays_as_that_failure():
    failed = reply("partial", status=Status.FAILED)
    failed.error = ErrorInfo(ErrorKind.STREAM_INTERRUPTED, "dropped", retryable=True)
    target = Message(role="assistant")
    list(replay_reply(RecordedReply.of(failed), target, clock=ManualClock()))
    assert target.status is Status.FAILED and target.error.kind is ErrorKind.STREAM_INTERRUPTED
    assert target.content == "partial"


# --- tool calls, their results, structured output ---------------------------------------------
def test_replaying_a_turn_with_tool_calls_streams_the_call_then_the_result_then_the_answer():
    recording = SessionRecording.from_conversation(tool_session())
    conversation = Conversation()
    clock = ManualClock()
    # Updates are the messages themselves (like the live stream): note what each showed as it came.
    shown_arguments = [
        [call.arguments for call in update.tool_calls]
        for update in replay_turn(conversation, recording.turns[1], clock=clock)
    ]
    roles = [message.role for message in conversation.messages]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert all(message.replayed for message in conversation.messages)
    call_reply, result, answer = conversation.messages[1:]
    assert call_reply.tool_calls == [ToolCall(id="call_1", name="get_weather", arguments='{"city": "Paris"}')]
    # The call's arguments streamed in: some update showed them part-way.
    assert any(0 < len(arguments) < len('{"city": "Paris"}') for calls in shown_arguments for arguments in calls)
    assert result.tool_call_id == "call_1" and result.content == '{"temp_c": 21}'
    assert answer.content == "It is 21 °C in Paris." and answer.status is Status.COMPLETE
    assert conversation.to_api()[1]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert clock.now() > 0.8  # two replies, each after its own time to first token


def test_replaying_a_structured_reply_restores_its_schema_verdict_when_it_ends():
    recording = SessionRecording.from_conversation(tool_session())
    conversation = Conversation()
    verdicts = [update.schema_check for update in replay_turn(conversation, recording.turns[2], clock=ManualClock())]
    assert verdicts[1] is None  # not while it streams
    assert conversation.messages[-1].schema_check.ok and conversation.messages[-1].schema_check.parsed == {
        "city": "Paris"
    }


def test_a_refusal_replays_after_the_text():
    refused = reply("", refusal="I can't help with that.", tokens=6)
    target = Message(role="assistant")
    seen = [update.refusal for update in replay_reply(RecordedReply.of(refused), target, clock=ManualClock())]
    assert any(value and len(value) < len("I can't help with that.") for value in seen)
    assert target.refusal == "I can't help with that."


def test_replayed_replies_are_not_billed_in_the_meter():
    workspace = Workspace()
    recording = SessionRecording.from_conversation(tool_session())
    list(workspace.replay_turn(recording.turns[0], clock=ManualClock()))
    assert workspace.conversation.messages[-1].stats.prompt_tokens == 30  # the recorded figures stay visible
    assert workspace.session_cost() == 0 and workspace.paid_reply_count() == 0 and workspace.usage_rows() == []


# --- live marks and a real-time replay --------------------------------------------------------
def test_a_live_reply_records_its_pace_marks_and_replays_at_that_pace(fake, openai_settings):
    fake.enqueue(Scenario(text=" ".join(f"w{i}" for i in range(12)), chunk_delay=0.03, first_byte_delay=0.1))
    workspace = Workspace(connection=openai_settings)
    workspace.submit("go")
    list(workspace.stream_next_reply())
    live = workspace.conversation.messages[-1]
    marks = live.stats.pace_marks
    assert marks and marks[-1][1] == len(live.content)
    assert [at for at, _ in marks] == sorted(at for at, _ in marks) and marks[0][0] >= 0.1
    recorded = SessionRecording.from_conversation(workspace.conversation).turns[0].replies[0]
    clock = ManualClock()
    updates = drain(replay_reply(recorded, Message(role="assistant"), clock=clock), clock)
    assert updates[-1][0] == pytest.approx(marks[-1][0])
    assert next(at for at, _, shown in updates if shown) == pytest.approx(marks[0][0])


def test_pace_marks_are_taken_at_redraws_only(fake, openai_settings):
    fake.enqueue(Scenario(text=" ".join(["w"] * 300)))
    workspace = Workspace(connection=openai_settings)
    workspace.submit("go")
    reply = workspace.conversation.start_reply("gpt-4.1-mini")
    request = workspace.build_request()
    list(stream_reply(workspace.client(), request, reply, refresh_interval_s=60))
    assert len(reply.content) == 599 and len(reply.stats.pace_marks) <= 3  # first text, the end: not per token
    assert reply.stats.pace_marks[-1][1] == 599


def test_real_time_replay_is_within_ten_percent_of_the_recorded_pace():
    text = "token " * 30  # 30 tokens at 75 tokens/s: 0.4 s after a 0.25 s first token
    recorded = RecordedReply.of(reply(text, ttft=0.25, rate=75.0, tokens=30))
    started = time.monotonic()
    first_visible = None
    for update in replay_reply(recorded, Message(role="assistant"), clock=SystemClock()):
        if first_visible is None and update.content:
            first_visible = time.monotonic() - started
    total = time.monotonic() - started
    assert first_visible == pytest.approx(0.25, rel=0.10)
    assert total == pytest.approx(0.65, rel=0.10)
    assert (total - first_visible) == pytest.approx(0.4, rel=0.10)
