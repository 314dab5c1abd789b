"""The scripted demo: "Next" plays the script live (through the real client and the fake server) or
from the recording; a live turn that fails can continue from the recording of that turn."""

from __future__ import annotations

import socket

import pytest

from playground.conversation import Conversation, Message, Status
from playground.demo import DemoMode, ManualClock, ScriptedDemo, SessionRecording
from playground.errors import ErrorKind, PlaygroundError
from playground.workspace import Workspace
from tests.fakes.server import Scenario

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def drain(updates) -> list[Message]:
    return list(updates)


def record_live_session(fake, settings) -> Workspace:
    """Play three turns live against the fake server (one with a tool call) and return the workspace."""
    fake.enqueue(
        Scenario(text="Hello, I am the demo bot."),
        Scenario(tool_calls=[{"name": "get_weather", "arguments": '{"city": "Paris"}', "id": "call_w"}]),
        Scenario(echo_tool_results=True),
        Scenario(text="Goodbye!"),
    )
    workspace = Workspace(connection=settings, tools=[WEATHER_TOOL], tool_mock_outputs={"get_weather": '{"temp": 21}'})
    for text in ("Hi", "Weather in Paris?", "Bye"):
        workspace.submit(text)
        list(workspace.stream_next_reply())
        if workspace.conversation.messages[-1].tool_calls:
            workspace.answer_tool_calls({"call_w": '{"temp": 21}'})
            list(workspace.stream_next_reply())
    return workspace


@pytest.fixture
def recorded(fake, openai_settings) -> SessionRecording:
    return SessionRecording.from_conversation(record_live_session(fake, openai_settings).conversation)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- the script ---------------------------------------------------------------------------------
def test_the_user_turns_become_the_script(recorded):
    demo = ScriptedDemo(recording=recorded)
    assert demo.script == ["Hi", "Weather in Paris?", "Bye"]
    assert demo.next_line == "Hi" and not demo.finished and demo.mode is DemoMode.REPLAY


def test_replay_mode_plays_every_turn_with_no_network_and_no_key(fake, recorded):
    fake.reset()
    workspace = Workspace()  # no key, no server: nothing may be sent
    demo = ScriptedDemo(recording=recorded)
    clock = ManualClock()
    for expected_line in ("Hi", "Weather in Paris?", "Bye"):
        assert demo.next_line == expected_line
        drain(demo.next(workspace, clock=clock))
    assert demo.finished and demo.next_line is None
    assert fake.chat_requests() == []
    messages = workspace.conversation.messages
    assert [m.role for m in messages] == [
        "user",
        "assistant",
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant",
    ]
    assert all(m.replayed for m in messages)
    assert messages[3].tool_calls[0].name == "get_weather" and messages[4].content == '{"temp": 21}'
    assert messages[5].content == 'Tool results: {"temp": 21}' and messages[-1].content == "Goodbye!"
    with pytest.raises(PlaygroundError) as caught:
        demo.next(workspace)
    assert caught.value.kind is ErrorKind.INVALID_INPUT and "restart" in caught.value.message


def test_live_mode_sends_the_script_through_the_real_client_and_answers_tools_from_the_recording(
    fake, openai_settings, recorded
):
    fake.reset()
    fake.enqueue(
        Scenario(text="Hello live."),
        Scenario(tool_calls=[{"name": "get_weather", "arguments": '{"city": "Paris"}', "id": "call_live"}]),
        Scenario(echo_tool_results=True),
    )
    workspace = Workspace(connection=openai_settings, tools=[WEATHER_TOOL])  # no mock outputs: the recording answers
    demo = ScriptedDemo(recording=recorded, mode=DemoMode.LIVE)
    drain(demo.next(workspace))
    drain(demo.next(workspace))
    messages = workspace.conversation.messages
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant", "tool", "assistant"]
    assert not any(m.replayed for m in messages)
    assert messages[1].content == "Hello live." and messages[-1].content == 'Tool results: {"temp": 21}'
    assert messages[4].tool_call_id == "call_live"
    sent = [request.json["messages"][-1] for request in fake.chat_requests()]
    assert sent[0] == {"role": "user", "content": "Hi"} and sent[2]["role"] == "tool"
    assert demo.failure is None and demo.position == 2


def test_switching_modes_mid_script(fake, openai_settings, recorded):
    fake.reset()
    fake.enqueue(Scenario(text="Live hello."))
    workspace = Workspace(connection=openai_settings, tools=[WEATHER_TOOL])
    demo = ScriptedDemo(recording=recorded, mode=DemoMode.LIVE)
    drain(demo.next(workspace))
    demo.set_mode(DemoMode.REPLAY)
    drain(demo.next(workspace, clock=ManualClock()))
    assert len(fake.chat_requests()) == 1
    assert [m.replayed for m in workspace.conversation.messages] == [False, False, True, True, True, True]


def test_the_demo_state_round_trips_as_json_mid_script(recorded):
    demo = ScriptedDemo(recording=recorded, mode=DemoMode.LIVE)
    demo.position = 2
    again = ScriptedDemo.model_validate_json(demo.model_dump_json())
    assert again == demo and again.next_line == "Bye"


def test_restart_goes_back_to_the_first_line(recorded):
    demo = ScriptedDemo(recording=recorded)
    workspace = Workspace()
    drain(demo.next(workspace, clock=ManualClock()))
    demo.restart()
    assert demo.position == 0 and demo.next_line == "Hi"


def test_a_demo_from_a_conversation():
    conversation = Conversation()
    conversation.add_user("one")
    demo = ScriptedDemo.from_conversation(conversation, DemoMode.LIVE)
    assert demo.script == ["one"] and demo.mode is DemoMode.LIVE


# --- a live turn that fails, and continuing from the recording --------------------------------
def continue_and_check(demo: ScriptedDemo, workspace: Workspace, turn: int) -> None:
    assert demo.offers_recording and demo.failure.turn == turn
    drain(demo.continue_from_recording(workspace, clock=ManualClock()))
    assert demo.failure is None
    messages = workspace.conversation.messages
    users = [m for m in messages if m.role == "user"]
    assert [m.content for m in users] == demo.script[: turn + 1]  # the user's turn was not repeated
    assert all(m.status is not Status.FAILED for m in messages)  # the failed attempt is replaced
    assert messages[-1].replayed and messages[-1].status is Status.COMPLETE


def test_a_rate_limited_live_turn_continues_from_its_recording(fake, openai_settings, recorded):
    fake.reset()
    fake.enqueue(Scenario(text="Live hello."), Scenario(fault="rate_limit"))
    workspace = Workspace(connection=openai_settings, tools=[WEATHER_TOOL])
    demo = ScriptedDemo(recording=recorded, mode=DemoMode.LIVE)
    drain(demo.next(workspace))
    drain(demo.next(workspace))
    assert workspace.conversation.messages[-1].status is Status.FAILED
    assert demo.failure.error.kind is ErrorKind.RATE_LIMIT
    assert ScriptedDemo.model_validate_json(demo.model_dump_json()) == demo  # the offer survives a save
    continue_and_check(demo, workspace, turn=1)
    assert workspace.conversation.messages[-1].content == 'Tool results: {"temp": 21}'
    assert workspace.conversation.messages[-2].role == "tool"
    # The script goes on live after the fallback.
    fake.enqueue(Scenario(text="Live goodbye."))
    drain(demo.next(workspace))
    assert workspace.conversation.messages[-1].content == "Live goodbye." and demo.finished


def test_a_timed_out_live_turn_continues_from_its_recording(fake, openai_settings, recorded):
    fake.reset()
    fake.enqueue(Scenario(text="late", first_byte_delay=1.0))
    workspace = Workspace(connection=openai_settings.model_copy(update={"first_byte_timeout_s": 0.2}))
    demo = ScriptedDemo(recording=recorded, mode=DemoMode.LIVE)
    drain(demo.next(workspace))
    assert demo.failure.error.kind is ErrorKind.TIMEOUT
    continue_and_check(demo, workspace, turn=0)
    assert workspace.conversation.messages[-1].content == "Hello, I am the demo bot."


def test_an_unreachable_server_continues_from_the_recording(openai_settings, recorded):
    settings = openai_settings.model_copy(update={"base_url": f"http://127.0.0.1:{closed_port()}/v1"})
    workspace = Workspace(connection=settings)
    demo = ScriptedDemo(recording=recorded, mode=DemoMode.LIVE)
    drain(demo.next(workspace))
    assert demo.failure.error.kind is ErrorKind.CONNECTION
    continue_and_check(demo, workspace, turn=0)


def test_a_stream_cut_mid_reply_continues_from_the_recording(fake, openai_settings, recorded):
    fake.reset()
    fake.enqueue(Scenario(text="one two three four five six", cut_after=3))
    workspace = Workspace(connection=openai_settings)
    demo = ScriptedDemo(recording=recorded, mode=DemoMode.LIVE)
    drain(demo.next(workspace))
    assert demo.failure.error.kind is ErrorKind.STREAM_INTERRUPTED
    continue_and_check(demo, workspace, turn=0)
    assert len(workspace.conversation.messages) == 2


def test_a_bad_request_is_shown_as_it_is(fake, openai_settings, recorded):
    fake.reset()
    fake.enqueue(Scenario(fault="bad_request"))
    workspace = Workspace(connection=openai_settings)
    demo = ScriptedDemo(recording=recorded, mode=DemoMode.LIVE)
    drain(demo.next(workspace))
    assert demo.failure.error.kind is ErrorKind.BAD_REQUEST and not demo.offers_recording
    with pytest.raises(PlaygroundError):
        demo.continue_from_recording(workspace)
    # "Next" moves on and dismisses the failure.
    fake.enqueue(Scenario(text="fine"))
    drain(demo.next(workspace))
    assert demo.failure is None


def test_a_live_tool_call_with_nothing_to_answer_it_offers_the_recording(fake, openai_settings, recorded):
    fake.reset()
    fake.enqueue(Scenario(tool_calls=[{"name": "get_time", "arguments": "{}", "id": "call_t"}]))
    workspace = Workspace(connection=openai_settings)
    demo = ScriptedDemo(recording=recorded, mode=DemoMode.LIVE)
    drain(demo.next(workspace))
    assert "get_time" in demo.failure.error.message
    continue_and_check(demo, workspace, turn=0)


def test_continuing_from_the_recording_bills_nothing_and_keeps_what_was_paid(fake, openai_settings, recorded):
    fake.reset()
    fake.enqueue(Scenario(text="Live hello."), Scenario(fault="server_error"))
    workspace = Workspace(connection=openai_settings, tools=[WEATHER_TOOL])
    demo = ScriptedDemo(recording=recorded, mode=DemoMode.LIVE)
    drain(demo.next(workspace))
    drain(demo.next(workspace))
    assert demo.failure.error.kind is ErrorKind.SERVER
    paid, cost = workspace.paid_reply_count(), workspace.session_cost()
    assert paid == 1
    drain(demo.continue_from_recording(workspace, clock=ManualClock()))
    assert workspace.paid_reply_count() == paid and workspace.session_cost() == cost


def test_continuing_after_the_chat_was_cleared_plays_the_whole_turn(fake, openai_settings, recorded):
    fake.reset()
    fake.enqueue(Scenario(fault="rate_limit"))
    workspace = Workspace(connection=openai_settings)
    demo = ScriptedDemo(recording=recorded, mode=DemoMode.LIVE)
    drain(demo.next(workspace))
    workspace.clear_chat()
    drain(demo.continue_from_recording(workspace, clock=ManualClock()))
    assert [m.content for m in workspace.conversation.messages] == ["Hi", "Hello, I am the demo bot."]


def test_a_turn_the_stage_refuses_stays_next(fake, openai_settings, recorded):
    fake.reset()
    fake.enqueue(Scenario(tool_calls=[{"name": "get_weather", "arguments": "{}", "id": "call_x"}]))
    workspace = Workspace(connection=openai_settings, tools=[WEATHER_TOOL])
    workspace.submit("Weather?")
    list(workspace.stream_next_reply())  # the model now waits for a tool result
    demo = ScriptedDemo(recording=recorded, mode=DemoMode.LIVE)
    with pytest.raises(PlaygroundError) as caught:
        drain(demo.next(workspace))
    assert caught.value.kind is ErrorKind.INVALID_INPUT and demo.position == 0 and demo.next_line == "Hi"
