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


def open_settings(app):
    """Open "System prompt & parameters" (its widgets are drawn only while it is open)."""
    from components.chat_view import ChatKeys

    app.session_state[ChatKeys.SETTINGS_OPEN] = True
    return app.run()


def test_reply_is_streamed_with_stats_under_it(app_factory, fake):
    fake.enqueue(Scenario(text="Paris is the capital.", cached_tokens=3))
    app = send(app_factory(), "Capital of France?")
    assert [m.markdown[0].value for m in app.chat_message] == ["Capital of France?", "Paris is the capital."]
    caption = app.chat_message[1].caption[0].value
    assert "(3 cached)" in caption and "finish: stop" in caption and "first token" in caption and "$" in caption
    assert "Session cost: **$0.0000" in app.sidebar.caption[-1].value


def test_system_prompt_and_parameters_are_sent(app_factory, fake):
    app = open_settings(app_factory())
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
    app = open_settings(app_factory())
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
    assert not [area for area in app.text_area if area.key == f"chat.edit_text.{first_id}"]  # drawn when open
    app.session_state[f"chat.edit.{first_id}"] = True  # open the Edit popover
    app.run()
    app.text_area(key=f"chat.edit_text.{first_id}").input("first question, rephrased").run()
    app.button(key=f"chat.resend.{first_id}").click().run()
    assert [m.content for m in workspace(app).conversation.messages] == [
        "first question, rephrased",
        "Echo: first question, rephrased",
    ]
    assert len(fake.chat_requests()) == 3
    assert app.session_state[f"chat.edit.{first_id}"] is False  # Resend closed the popover


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


# --- the page as people expect it ------------------------------------------------------------------
def png_bytes(width: int = 64, height: int = 48) -> bytes:
    from PIL import Image

    from tests.fakes.images import encode

    return encode(Image.new("RGB", (width, height), (20, 120, 200)), "PNG")


def captions(app) -> list[str]:
    return [caption.value for caption in app.caption]


def test_a_content_filter_flag_is_shown_on_the_reply(app_factory, clean_env, fake):
    clean_env.setenv("AZURE_OPENAI_ENDPOINT", fake.azure_endpoint)
    clean_env.setenv("AZURE_OPENAI_API_KEY", "azure-test-key")
    clean_env.setenv("AZURE_OPENAI_DEPLOYMENT", "mini-prod")
    fake.enqueue(Scenario(text="I will not describe", finish_reason="content_filter", filter_category="violence"))
    app = send(app_factory(connected=False), "Describe the fight")
    warnings = [warning.value for warning in app.chat_message[1].warning]
    assert any("stopped by the content filter" in warning for warning in warnings)
    assert any(warning.startswith("Content filter flagged") and "violence" in warning for warning in warnings)
    assert app.chat_message[1].caption[0].value.startswith("mini-prod · in ")  # the deployment that wrote it


def test_each_reply_names_the_model_that_wrote_it(app_factory, fake):
    fake.enqueue(Scenario(text="Hi.", model="gpt-4.1-mini-2025-04-14"))
    app = send(app_factory(), "hello")
    assert app.chat_message[1].caption[0].value.startswith("gpt-4.1-mini-2025-04-14 · in ")


def test_the_landing_explains_the_playground_and_a_sample_prompt_sends(app_factory, fake):
    from components.chat_view import SAMPLE_PROMPTS, ChatKeys

    app = app_factory()
    assert app.title[0].value == "Chat"
    assert any("what each request costs" in markdown.value for markdown in app.markdown)
    samples = [button for button in app.button if button.key.startswith(ChatKeys.SAMPLE_PREFIX)]
    assert len(samples) == len(SAMPLE_PROMPTS) >= 2
    samples[0].click().run()
    first_prompt = next(iter(SAMPLE_PROMPTS.values()))
    assert fake.chat_requests()[-1].json["messages"] == [{"role": "user", "content": first_prompt}]
    assert not [button for button in app.button if button.key.startswith(ChatKeys.SAMPLE_PREFIX)]


def test_there_is_one_composer_and_it_counts_the_next_request_without_a_draft(app_factory):
    from components.meter import MeterKeys

    app = app_factory()
    assert len(app.chat_input) == 1 and not app.main.text_input  # no second box to type into
    assert not hasattr(MeterKeys, "DRAFT")
    caption = next(c for c in captions(app) if c.startswith("Next request:"))
    assert "tokens (the conversation) + your message" in caption and "$" in caption
    sidebar = " ".join(markdown.value for markdown in app.sidebar.markdown)
    assert "Prompt: 3 tokens" in sidebar  # reply priming only: nothing is counted before it is sent


def test_images_attached_in_the_composer_go_with_the_message_and_chips_remove_them(app_factory, fake):
    from components.images import ImageKeys

    app = app_factory()
    box = app.chat_input(key=Keys.CHAT_INPUT)
    box.upload("one.png", png_bytes(), "image/png").upload("two.png", png_bytes(), "image/png")
    box.set_value("What are these?").run()
    assert not app.exception
    parts = fake.chat_requests()[-1].json["messages"][-1]["content"]
    assert [part["type"] for part in parts] == ["text", "image_url", "image_url"]
    assert workspace(app).pending_images == []

    # Images can also wait as chips (attached from the Images panel): removing one takes it off.
    from playground.attachments import attach_upload

    first, _ = attach_upload(workspace(app), png_bytes(), "a.png")
    attach_upload(workspace(app), png_bytes(), "b.png")
    app.run()
    assert any("With your next message: 2 image(s)" in c for c in captions(app))
    assert any("2 images pending" in c for c in captions(app))
    assert any("+ 2 images" in c for c in captions(app) if c.startswith("Next request:"))
    app.button(key=ImageKeys.strip_remove(first.id)).click().run()
    assert [image.name for image in workspace(app).pending_images] == ["b.png"]


def test_a_composer_image_that_cannot_be_used_keeps_the_text_and_sends_nothing(app_factory, fake):
    app = app_factory()
    box = app.chat_input(key=Keys.CHAT_INPUT)
    box.upload("notes.png", b"this is not an image", "image/png").set_value("Look at this").run()
    assert not app.exception
    assert fake.chat_requests() == []
    assert any("Nothing was sent" in error.value and "back in the box" in error.value for error in app.error)
    assert app.chat_input(key=Keys.CHAT_INPUT).proto.value == "Look at this"


def test_state_other_panels_set_is_shown_as_chips(app_factory):
    from playground.toolloop import load_templates

    app = app_factory()
    templates = load_templates()
    workspace(app).tools = [templates["get_weather"].tool, *[t.tool for t in list(templates.values())[1:2]]]
    workspace(app).response_schema.schema = {"type": "object", "properties": {}, "additionalProperties": False}
    workspace(app).response_schema.enabled = True
    app.run()
    assert any("2 tools (tool_choice `auto`, parallel calls on) · schema on (response)" in c for c in captions(app))


def test_the_response_format_control_and_use_in_chat_are_one_setting(app_factory, fake):
    from components.schema_builder import SchemaKeys

    app = open_settings(app_factory())
    assert app.radio(key=Keys.RESPONSE_FORMAT).options == ["Text", "JSON object"]  # no schema yet
    workspace(app).response_schema.schema = {"type": "object", "properties": {}, "additionalProperties": False}
    app.switch_page("pages/schema.py").run()
    app.toggle(key=SchemaKeys.USE_IN_CHAT).set_value(True).run()
    assert workspace(app).response_schema.enabled
    open_settings(app.switch_page("pages/chat.py"))
    assert app.radio(key=Keys.RESPONSE_FORMAT).value == "json_schema"
    assert any("JSON schema" in expander.label for expander in app.expander)  # readable while closed
    app.radio(key=Keys.RESPONSE_FORMAT).set_value("text").run()
    assert not workspace(app).response_schema.enabled
    app.switch_page("pages/schema.py").run()
    assert app.toggle(key=SchemaKeys.USE_IN_CHAT).value is False
    open_settings(app.switch_page("pages/chat.py"))
    app.radio(key=Keys.RESPONSE_FORMAT).set_value("json_object").run()
    send(app, "json please")
    assert fake.chat_requests()[-1].json["response_format"] == {"type": "json_object"}


def test_a_stopped_reply_shows_the_tokens_that_arrived_as_an_estimate(app_factory):
    from playground.conversation import Message, ReplyStats

    app = app_factory()
    conversation = workspace(app).conversation
    conversation.add_user("Count")
    stats = ReplyStats(model="gpt-4.1-mini", estimated_prompt_tokens=11)
    conversation.messages.append(Message(role="assistant", content="one two three", status=Status.STOPPED, stats=stats))
    app.run()
    caption = app.chat_message[1].caption[-1].value
    assert "in ≈11 · out ≈3 (estimated: stopped before the server reported usage)" in caption
    assert "in ? · out ?" not in caption


def test_a_reply_with_estimated_usage_says_so(app_factory):
    from playground.conversation import Message, ReplyStats

    app = app_factory()
    conversation = workspace(app).conversation
    conversation.add_user("Hi")
    stats = ReplyStats(model="local", prompt_tokens=9, completion_tokens=4, finish_reason="stop", usage_estimated=True)
    conversation.messages.append(Message(role="assistant", content="Hello", stats=stats))
    app.run()
    caption = app.chat_message[1].caption[0].value
    assert "in ≈9 · out ≈4 (estimated: the server sent no usage)" in caption


def test_the_dropped_stream_message_says_its_point_once(app_factory, fake):
    fake.enqueue(Scenario(text=" ".join(f"w{i}" for i in range(20)), cut_after=5))
    app = send(app_factory(), "stream please")
    error = app.chat_message[1].error[0].value
    assert error.count("kept") == 1


def test_a_long_conversation_draws_only_its_latest_turns_and_pages_back(app_factory):
    from components.chat_view import RECENT_MESSAGES, ChatKeys
    from playground.conversation import Message

    app = app_factory()
    conversation = workspace(app).conversation
    for turn in range(100):
        conversation.add_user(f"question {turn}")
        conversation.messages.append(Message(role="assistant", content=f"answer {turn}"))
    app.run()
    assert len(app.chat_message) == RECENT_MESSAGES
    assert app.chat_message[-1].markdown[0].value == "answer 99"
    more = app.button(key=ChatKeys.SHOW_EARLIER)
    assert "160 not shown" in more.label
    more.click().run()
    assert len(app.chat_message) == 2 * RECENT_MESSAGES
    assert app.chat_message[0].markdown[0].value == f"question {100 - RECENT_MESSAGES}"


def test_the_functions_page_shows_the_system_prompt_and_clears_the_chat(app_factory):
    app = send(app_factory(), "hello")
    workspace(app).system_prompt = "Be terse."
    app.switch_page("pages/tools.py").run()
    assert any("System prompt: Be terse." in c for c in captions(app))
    app.button(key=Keys.CLEAR).click().run()
    assert workspace(app).conversation.messages == []


def test_the_settings_widgets_are_drawn_only_while_open_and_keep_their_values(app_factory):
    app = app_factory()
    assert not app.slider and not app.text_area  # closed: nothing of it is drawn
    open_settings(app)
    app.slider(key=Keys.TEMPERATURE).set_value(0.4).run()
    app.text_area(key=Keys.SYSTEM_PROMPT).input("Be brief.").run()
    from components.chat_view import ChatKeys

    app.session_state[ChatKeys.SETTINGS_OPEN] = False
    app.run()
    assert not app.slider
    assert "system prompt set · temperature 0.4" in app.expander[0].label
    open_settings(app)
    assert app.slider(key=Keys.TEMPERATURE).value == 0.4
    assert app.text_area(key=Keys.SYSTEM_PROMPT).value == "Be brief."


def test_what_the_user_typed_is_drawn_as_typed_not_as_markdown(app_factory):
    app = send(app_factory(), "See ![x](http://evil.example/p.png) and **this**\nsecond line")
    drawn = app.chat_message[0].markdown[0].value
    assert drawn == "See \\!\\[x\\]\\(http:\u2060//evil.example/p.png\\) and \\*\\*this\\*\\*  \nsecond line"


def test_an_operator_model_that_rejects_temperature_hides_the_slider_and_takes_a_reasoning_effort(
    app_factory, fake, tmp_path, clean_env
):
    from components.chat_view import ChatKeys
    from playground.registry import MODELS_FILE_SETTING
    from tests.fakes.operator_models import OPERATOR_TOML

    models = tmp_path / "models.toml"
    models.write_text(OPERATOR_TOML)
    clean_env.setenv(MODELS_FILE_SETTING, str(models))
    app = open_settings(app_factory())
    assert app.slider(key=Keys.TEMPERATURE).value == 1.0  # gpt-4.1-mini takes it; no effort control
    assert not [s for s in app.selectbox if s.key == Keys.REASONING_EFFORT]
    app.slider(key=Keys.TEMPERATURE).set_value(0.3).run()
    app.selectbox(key=Keys.MODEL).set_value("reasoner-mini").run()
    assert not [s for s in app.slider if s.key in (Keys.TEMPERATURE, Keys.TOP_P)]
    assert any("reasoner-mini does not take temperature, top_p." in c.value for c in app.caption)
    effort = app.selectbox(key=Keys.REASONING_EFFORT)
    assert effort.options == ["(model default)", "low", "medium", "high"]
    effort.set_value("low").run()
    app.number_input(key=Keys.SEED).set_value(5).run()
    send(app, "Think, then answer.")
    body = fake.chat_requests()[-1].json
    assert body["model"] == "reasoner-mini" and body["reasoning_effort"] == "low" and body["seed"] == 5
    assert "temperature" not in body and "top_p" not in body
    # Closed, the label says what the model gets: an effort, no temperature.
    app.session_state[ChatKeys.SETTINGS_OPEN] = False
    app.run()
    label = app.expander[0].label
    assert "reasoning effort low" in label and "temperature" not in label
    # Back on a model that takes a temperature: the user's 0.3 was kept, and no effort is sent.
    open_settings(app)
    app.selectbox(key=Keys.MODEL).set_value("gpt-4.1-mini").run()
    assert app.slider(key=Keys.TEMPERATURE).value == 0.3
    send(app, "Again")
    body = fake.chat_requests()[-1].json
    assert body["temperature"] == 0.3 and "reasoning_effort" not in body
