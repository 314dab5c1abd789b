"""The Functions page under AppTest: define tools, the model calls one, answer it, get the final reply."""

from __future__ import annotations

import json

from components.state import STATE_KEY, Keys
from components.tools_view import ToolKeys
from tests.fakes.server import Scenario

WEATHER_CALL = {"name": "get_weather", "arguments": json.dumps({"location": "Paris", "unit": "celsius"})}


def tools_page(app_factory):
    app = app_factory(page="pages/tools.py")
    assert not app.exception
    return app


def test_add_a_template_and_send_it_with_the_request(app_factory, fake):
    app = tools_page(app_factory)
    app.selectbox(key=ToolKeys.TEMPLATE).select("get_weather").run()
    app.button(key=ToolKeys.ADD_TEMPLATE).click().run()
    assert json.loads(app.text_area(key=ToolKeys.DEFINITIONS).value)[0]["function"]["name"] == "get_weather"
    app.selectbox(key=ToolKeys.CHOICE).select("required").run()
    fake.enqueue(Scenario(tool_calls=[WEATHER_CALL]))
    app.chat_input(key=ToolKeys.CHAT_INPUT).set_value("Weather in Paris?").run()
    body = fake.chat_requests()[-1].json
    assert body["tools"][0]["function"]["name"] == "get_weather" and body["tool_choice"] == "required"
    assert any("The model called 1 tool(s)" in markdown.value for markdown in app.markdown)


def test_answering_the_call_sends_the_tool_output_and_shows_the_final_reply(app_factory, fake):
    app = tools_page(app_factory)
    app.button(key=ToolKeys.ADD_TEMPLATE).click().run()  # the first template: get_weather
    fake.enqueue(Scenario(tool_calls=[WEATHER_CALL]))
    app.chat_input(key=ToolKeys.CHAT_INPUT).set_value("Weather in Paris?").run()
    [call] = app.session_state[STATE_KEY].workspace.conversation.messages[-1].tool_calls
    app.text_area(key=ToolKeys.output(call.id)).input('{"temperature": 21}').run()
    fake.enqueue(Scenario(text="It is 21 degrees in Paris."))
    app.button(key=ToolKeys.SEND_RESULTS).click().run()
    sent = fake.chat_requests()[-1].json["messages"]
    assert sent[-1] == {"role": "tool", "content": '{"temperature": 21}', "tool_call_id": call.id}
    assert app.chat_message[-1].markdown[0].value == "It is 21 degrees in Paris."


def test_arguments_violating_the_schema_are_flagged(app_factory, fake):
    app = tools_page(app_factory)
    app.button(key=ToolKeys.ADD_TEMPLATE).click().run()
    fake.enqueue(Scenario(tool_calls=[{"name": "get_weather", "arguments": '{"location": 42}'}]))
    app.chat_input(key=ToolKeys.CHAT_INPUT).set_value("Weather?").run()
    assert any("location: 42 is not of type 'string'" in error.value for error in app.error)


def test_malformed_definitions_keep_the_text_and_the_previous_tools(app_factory):
    app = tools_page(app_factory)
    app.button(key=ToolKeys.ADD_TEMPLATE).click().run()
    app.text_area(key=ToolKeys.DEFINITIONS).input('[{"name": "broken",').run()
    app.button(key=ToolKeys.APPLY).click().run()
    assert any("not valid JSON" in error.value for error in app.error)
    assert app.text_area(key=ToolKeys.DEFINITIONS).value == '[{"name": "broken",'
    assert [t["function"]["name"] for t in app.session_state[STATE_KEY].workspace.tools] == ["get_weather"]


def test_a_non_strict_invalid_tool_is_explained(app_factory):
    app = tools_page(app_factory)
    bad = [{"type": "function", "function": {"name": "do it!", "parameters": {"type": "object"}}}]
    app.text_area(key=ToolKeys.DEFINITIONS).input(json.dumps(bad)).run()
    app.button(key=ToolKeys.APPLY).click().run()
    assert any("would be rejected" in warning.value for warning in app.warning)


# --- hardening (issue 9) ------------------------------------------------------------------------
NOT_AN_OBJECT = [{"type": "function", "function": {"name": "f", "parameters": "nope"}}]


def apply_definitions(app, text):
    app.text_area(key=ToolKeys.DEFINITIONS).input(text).run()
    app.button(key=ToolKeys.APPLY).click().run()
    assert not app.exception
    return app


def test_a_tool_whose_parameters_is_not_an_object_is_refused_and_the_chat_stays_usable(app_factory, fake):
    app = tools_page(app_factory)
    app.button(key=ToolKeys.ADD_TEMPLATE).click().run()
    apply_definitions(app, json.dumps(NOT_AN_OBJECT))
    assert any("'parameters' must be a JSON Schema object" in error.value for error in app.error)
    assert [t["function"]["name"] for t in app.session_state[STATE_KEY].workspace.tools] == ["get_weather"]
    app.switch_page("pages/chat.py").run()
    assert not app.exception and not app.error
    fake.enqueue(Scenario(text="Still here."))
    app.chat_input(key=Keys.CHAT_INPUT).set_value("Hello?").run()
    assert app.chat_message[-1].markdown[0].value == "Still here."


def test_a_broken_tool_already_in_the_session_breaks_only_the_meter(app_factory, fake):
    app = tools_page(app_factory)
    app.session_state[STATE_KEY].workspace.tools = NOT_AN_OBJECT  # however it got there
    app.switch_page("pages/chat.py").run()
    assert not app.exception
    assert any("could not be drawn (the context and cost meter" in error.value for error in app.sidebar.error)
    assert app.sidebar.selectbox(key=Keys.MODEL) is not None  # the rest of the sidebar is drawn


def test_deep_json_in_the_tool_definitions_is_refused_with_a_message(app_factory):
    app = tools_page(app_factory)
    apply_definitions(app, "[" * 2000 + "]" * 2000)
    assert any("The tool list is nested more than" in error.value for error in app.error)


def test_a_tool_name_and_call_id_from_the_model_cannot_inject_markdown(app_factory, fake):
    app = tools_page(app_factory)
    app.button(key=ToolKeys.ADD_TEMPLATE).click().run()
    name = "x` ![img](http://evil.example/i.png) [link](http://evil.example) `"
    fake.enqueue(Scenario(tool_calls=[{"name": name, "arguments": "{}", "id": "call` [id](http://evil.example) `"}]))
    app.chat_input(key=ToolKeys.CHAT_INPUT).set_value("Weather?").run()
    assert not app.exception
    [line] = [m.value for m in app.markdown if "call id" in m.value]
    assert line == f"`` {name} `` · call id `` call` [id](http://evil.example) ` ``"
    assert any(ta.label == f"Output of `` {name} ``" for ta in app.text_area)


def test_a_contained_failure_is_logged_without_the_key(app_factory, monkeypatch, caplog):
    import components.sidebar

    app = tools_page(app_factory)
    key = app.session_state[STATE_KEY].workspace.connection.key
    assert len(key) > 12

    def broken_meter(workspace):
        raise RuntimeError(f"upstream said {key} / {key.upper()} is wrong")

    monkeypatch.setattr(components.sidebar, "live_meter", broken_meter)
    with caplog.at_level("ERROR", logger="playground.ui"):
        app.run()
    assert not app.exception
    [record] = [r for r in caplog.records if r.name == "playground.ui"]
    logged = record.getMessage()
    assert "RuntimeError" in logged and "[redacted]" in logged
    assert key.lower() not in logged.lower()
    assert all(key.lower() not in error.value.lower() for error in app.sidebar.error)
