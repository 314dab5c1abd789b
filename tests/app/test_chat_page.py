"""The chat page under AppTest: send, stats, errors with Retry, edit/resend, regenerate, delete, clear."""

from __future__ import annotations

from components.state import STATE_KEY, Keys
from playground.conversation import Status
from tests.fakes.server import Scenario


def send(app, text):
    app.chat_input(key=Keys.CHAT_INPUT).set_value(text).run()
    assert not app.exception
    return app


def workspace(app):
    return app.session_state[STATE_KEY].workspace


def test_reply_is_streamed_with_stats_under_it(app_factory, fake):
    fake.enqueue(Scenario(text="Paris is the capital.", cached_tokens=3))
    app = send(app_factory(), "Capital of France?")
    assert [m.markdown[0].value for m in app.chat_message] == ["Capital of France?", "Paris is the capital."]
    caption = app.chat_message[1].caption[0].value
    assert "(3 cached)" in caption and "finish: stop" in caption and "first token" in caption and "$" in caption
    assert "Session cost: **$0.0000" in app.sidebar.caption[-1].value


def test_system_prompt_and_parameters_are_sent(app_factory, fake):
    app = app_factory()
    app.text_area(key=Keys.SYSTEM_PROMPT).input("Answer in French.").run()
    app.slider(key=Keys.TEMPERATURE).set_value(0.3).run()
    app.number_input(key=Keys.SEED).set_value(42).run()
    send(app, "Hi")
    body = fake.chat_requests()[-1].json
    assert body["messages"][0] == {"role": "system", "content": "Answer in French."}
    assert body["temperature"] == 0.3 and body["seed"] == 42


def test_length_and_content_filter_finishes_are_flagged(app_factory, fake):
    fake.enqueue(Scenario(text="Truncated", finish_reason="length"))
    app = send(app_factory(), "long please")
    assert any("maximum output length" in w.value for w in app.chat_message[1].warning)


def test_server_error_shows_message_keeps_user_text_and_retry_resends(app_factory, fake):
    fake.enqueue(Scenario(fault="server_error"))
    app = app_factory()
    workspace(app).connection = workspace(app).connection.model_copy(update={"max_retries": 0})
    send(app, "Will this fail?")
    assert app.chat_message[0].markdown[0].value == "Will this fail?"
    error = app.chat_message[1].error[0].value
    assert "server failed (500)" in error and "request id: req_" in error
    app.chat_message[1].button[0].click().run()  # Retry
    assert [m.markdown[0].value for m in app.chat_message] == ["Will this fail?", "Echo: Will this fail?"]
    assert len(fake.chat_requests()) == 2


def test_dropped_stream_keeps_partial_reply_marked_incomplete(app_factory, fake):
    fake.enqueue(Scenario(text=" ".join(f"w{i}" for i in range(20)), cut_after=5))
    app = send(app_factory(), "stream please")
    reply = workspace(app).conversation.messages[-1]
    assert reply.status is Status.FAILED and reply.content.startswith("w0")
    assert app.chat_message[1].markdown[0].value == reply.content
    assert "partial reply above is kept" in app.chat_message[1].error[0].value
    assert len(fake.chat_requests()) == 1  # nothing re-sent on its own


def test_max_tokens_are_bounded_by_the_chosen_models_registry_limit(app_factory, fake):
    app = app_factory()
    assert app.number_input(key=Keys.MAX_TOKENS).max == 32_768  # gpt-4.1-mini
    app.number_input(key=Keys.MAX_TOKENS).set_value(30_000).run()
    app.sidebar.selectbox(key=Keys.MODEL).select("gpt-4o").run()
    assert app.number_input(key=Keys.MAX_TOKENS).max == 16_384
    send(app, "hello")
    assert fake.chat_requests()[-1].json["max_completion_tokens"] == 16_384


def test_edit_and_resend_truncates_and_sends_again(app_factory, fake):
    app = send(app_factory(), "first question")
    send(app, "second question")
    first_id = workspace(app).conversation.messages[0].id
    app.text_area(key=f"chat.edit_text.{first_id}").input("first question, rephrased").run()
    app.button(key=f"chat.resend.{first_id}").click().run()
    assert [m.content for m in workspace(app).conversation.messages] == [
        "first question, rephrased",
        "Echo: first question, rephrased",
    ]
    assert len(fake.chat_requests()) == 3


def test_regenerate_replaces_the_last_reply(app_factory, fake):
    fake.enqueue(Scenario(text="first take"))
    app = send(app_factory(), "tell me")
    reply_id = workspace(app).conversation.messages[-1].id
    fake.enqueue(Scenario(text="second take"))
    app.button(key=f"chat.regenerate.{reply_id}").click().run()
    assert [m.content for m in workspace(app).conversation.messages] == ["tell me", "second take"]


def test_delete_and_clear(app_factory):
    app = send(app_factory(), "one")
    user_id = workspace(app).conversation.messages[0].id
    app.button(key=f"chat.delete.{user_id}").click().run()
    assert [m.content for m in workspace(app).conversation.messages] == ["Echo: one"]
    app.button(key=Keys.CLEAR).click().run()
    assert workspace(app).conversation.messages == []
    assert not app.chat_message


def test_model_markdown_is_not_raw_html(app_factory, fake):
    fake.enqueue(Scenario(text="<script>alert(1)</script> **bold**"))
    app = send(app_factory(), "html?")
    element = app.chat_message[1].markdown[0]
    assert element.proto.allow_html is False


def test_a_tool_call_in_the_chat_can_be_answered_there(app_factory, fake):
    import json

    from components.tools_view import ToolKeys
    from playground.toolloop import load_templates

    app = app_factory()
    workspace(app).tools = [load_templates()["get_weather"].tool]
    fake.enqueue(Scenario(tool_calls=[{"name": "get_weather", "arguments": json.dumps({"location": "Oslo"})}]))
    send(app, "Weather in Oslo?")
    send(app, "Hello?")  # refused: the call is unanswered, and the API would reject this request
    assert any("waiting for the output of get_weather" in error.value for error in app.error)
    assert app.chat_input(key=Keys.CHAT_INPUT).proto.value == "Hello?"  # back in the box, not lost
    assert len(fake.chat_requests()) == 1
    fake.enqueue(Scenario(text="It is 3 degrees in Oslo."))
    app.button(key=ToolKeys.SEND_RESULTS).click().run()
    assert [m["role"] for m in fake.chat_requests()[-1].json["messages"]] == ["user", "assistant", "tool"]
    assert app.chat_message[-1].markdown[0].value == "It is 3 degrees in Oslo."


def test_retry_is_offered_only_on_the_latest_turn(app_factory, fake):
    fake.enqueue(Scenario(fault="bad_request"))
    app = send(app_factory(), "first")
    assert app.button(key=f"chat.retry.{workspace(app).conversation.messages[-1].id}")
    send(app, "second")  # the failed first reply stays, with its error, but Retry would drop "second"
    failed = workspace(app).conversation.messages[1]
    assert failed.error is not None
    assert not [button for button in app.button if button.key == f"chat.retry.{failed.id}"]
    assert [m.content for m in workspace(app).conversation.messages][-2:] == ["second", "Echo: second"]
