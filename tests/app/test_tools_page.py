"""The Functions page under AppTest: define tools, the model calls one, answer it, get the final reply."""

from __future__ import annotations

import json

from components.state import STATE_KEY
from components.tools_view import ToolKeys
from tests.fakes.server import Scenario

WEATHER_CALL = {"name": "get_weather", "arguments": json.dumps({"city": "Paris", "unit": None})}


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
    fake.enqueue(Scenario(tool_calls=[{"name": "get_weather", "arguments": '{"city": 42, "unit": null}'}]))
    app.chat_input(key=ToolKeys.CHAT_INPUT).set_value("Weather?").run()
    assert any("city: 42 is not of type 'string'" in error.value for error in app.error)


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
