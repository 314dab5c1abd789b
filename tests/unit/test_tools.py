import json

import pytest

from playground.chat import stream_reply
from playground.connection import ConnectionSettings
from playground.conversation import Conversation, Status, ToolCall
from playground.errors import PlaygroundError
from playground.providers import provider_for
from playground.toolloop import load_templates
from playground.tools import (
    answer_calls,
    argument_errors,
    parse_tools,
    tool_problems,
    unanswered_calls,
)
from playground.workspace import Workspace
from tests.fakes.server import Scenario

WEATHER_OUTPUT = '{"city": "Paris", "temperature": 18, "unit": "celsius", "conditions": "light rain"}'
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "strict": True,
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Paris"},
                "unit": {"type": ["string", "null"], "enum": ["celsius", "fahrenheit", None]},
            },
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}


class WEATHER:
    tool = WEATHER_TOOL
    mock_output = WEATHER_OUTPUT


@pytest.mark.parametrize("key", sorted(load_templates()))
def test_templates_are_tools_both_providers_accept(key):
    template = load_templates()[key]
    assert tool_problems(template.tool, "openai") == []
    assert tool_problems(template.tool, "azure") == []
    assert parse_tools(json.dumps([template.tool])) == [template.tool]


def test_parse_accepts_bare_functions_and_reports_bad_json_with_position():
    [tool] = parse_tools('{"name": "ping", "description": "Ping."}')
    assert tool == {
        "type": "function",
        "function": {"name": "ping", "description": "Ping.", "parameters": {"type": "object", "properties": {}}},
    }
    with pytest.raises(PlaygroundError) as caught:
        parse_tools('[{"name": "a"},\n {"name": ')
    assert "line 2" in caught.value.message
    with pytest.raises(PlaygroundError, match="unique"):
        parse_tools('[{"name": "a"}, {"name": "a"}]')


def test_strict_tool_problems_come_from_the_strict_linter():
    tool = parse_tools(
        json.dumps({"name": "bad name!", "strict": True, "parameters": {"type": "object", "properties": {"x": {}}}})
    )[0]
    problems = tool_problems(tool, "openai")
    assert any(problem.startswith("name:") for problem in problems)
    assert any("additionalProperties" in problem for problem in problems)


def test_parallel_tool_calls_are_turned_off_for_strict_tools_on_azure():
    azure = provider_for(ConnectionSettings(provider="azure"))
    azure_v1 = provider_for(ConnectionSettings(provider="azure", azure_api_mode="v1"))
    openai = provider_for(ConnectionSettings())
    loose = {"type": "function", "function": {**WEATHER.tool["function"], "strict": False}}
    assert azure.parallel_tool_calls([WEATHER.tool], True) is False
    assert azure_v1.parallel_tool_calls([WEATHER.tool], True) is False
    assert azure.parallel_tool_calls([loose], True) is None
    assert openai.parallel_tool_calls([WEATHER.tool], True) is None  # API default: not sent
    assert openai.parallel_tool_calls([WEATHER.tool], False) is False


def test_argument_errors_name_the_field():
    assert argument_errors(WEATHER.tool, '{"city": "Paris", "unit": null}') == []
    assert argument_errors(WEATHER.tool, '{"city": 3, "unit": null}') == ["city: 3 is not of type 'string'"]
    assert "not valid JSON" in argument_errors(WEATHER.tool, '{"city": ')[0]
    assert argument_errors(None, "{}") == ["The model called a tool that is not defined."]


def test_answering_calls_appends_tool_messages_in_order():
    conversation = Conversation()
    conversation.add_user("weather in Paris and Rome?")
    reply = conversation.start_reply("m")
    reply.tool_calls = [ToolCall("call_1", "get_weather", "{}"), ToolCall("call_2", "get_weather", "{}")]
    reply.status = Status.COMPLETE
    assert [call.id for call in unanswered_calls(conversation)] == ["call_1", "call_2"]
    with pytest.raises(PlaygroundError, match="every call"):
        answer_calls(conversation, {"call_1": "sunny"})
    answer_calls(conversation, {"call_1": "sunny", "call_2": "rain"})
    assert unanswered_calls(conversation) == []
    assert [m.to_api() for m in conversation.messages[-2:]] == [
        {"role": "tool", "content": "sunny", "tool_call_id": "call_1"},
        {"role": "tool", "content": "rain", "tool_call_id": "call_2"},
    ]


def test_a_full_tool_round_trip_against_the_fake_server(fake, openai_settings):
    workspace = Workspace(connection=openai_settings, tools=[WEATHER.tool], tool_choice="required")
    fake.enqueue(Scenario(tool_calls=[{"name": "get_weather", "arguments": '{"city": "Paris", "unit": null}'}]))
    workspace.submit("Weather in Paris?")
    request = workspace.build_request()
    list(stream_reply(workspace.client(), request, workspace.conversation.start_reply(request.model)))
    first_body = fake.chat_requests()[-1].json
    assert first_body["tools"] == [WEATHER.tool] and first_body["tool_choice"] == "required"
    [call] = unanswered_calls(workspace.conversation)
    workspace.answer_tool_calls({call.id: WEATHER.mock_output})
    assert workspace.awaiting_reply
    fake.enqueue(Scenario(text="It is 18 °C and raining in Paris."))
    request = workspace.build_request()
    list(stream_reply(workspace.client(), request, workspace.conversation.start_reply(request.model)))
    roles = [m["role"] for m in fake.chat_requests()[-1].json["messages"]]
    assert roles == ["user", "assistant", "tool"]
    assert workspace.conversation.messages[-1].content == "It is 18 °C and raining in Paris."


def test_named_tool_choice_is_sent_as_a_function_object():
    workspace = Workspace(connection=ConnectionSettings(), tools=[WEATHER.tool], tool_choice="get_weather")
    workspace.submit("x")
    assert workspace.build_request().to_kwargs()["tool_choice"] == {
        "type": "function",
        "function": {"name": "get_weather"},
    }


def test_a_new_message_is_refused_while_tool_calls_wait_for_output():
    workspace = Workspace(tools=[WEATHER.tool])
    workspace.submit("weather?")
    reply = workspace.conversation.start_reply("m")
    reply.tool_calls, reply.status = [ToolCall("call_1", "get_weather", "{}")], Status.COMPLETE
    with pytest.raises(PlaygroundError, match="waiting for the output of get_weather"):
        workspace.submit("hello?")
    workspace.answer_tool_calls({"call_1": "{}"})
    workspace.conversation.start_reply("m").status = Status.COMPLETE
    assert workspace.submit("thanks").content == "thanks"


def test_a_stopped_reply_with_partial_tool_calls_is_never_sent():
    conversation = Conversation()
    conversation.add_user("weather?")
    reply = conversation.start_reply("m")
    reply.tool_calls = [ToolCall("call_1", "get_weather", '{"city": "Par')]
    conversation.settle_interrupted()
    assert conversation.to_api() == [{"role": "user", "content": "weather?"}]
    assert unanswered_calls(conversation) == []
    reply.content = "Let me check"
    assert conversation.to_api()[-1] == {"role": "assistant", "content": "Let me check"}


@pytest.mark.parametrize(
    "parameters",
    [
        {"type": "object", "properties": {"x": {"type": "strng"}}},
        {"type": "object", "properties": {"x": {"type": "string", "pattern": "["}}},
    ],
)
def test_a_broken_tool_schema_is_reported_not_raised(parameters):
    tool = {"type": "function", "function": {"name": "t", "parameters": parameters}}
    [problem] = argument_errors(tool, '{"x": "a"}')
    assert problem.startswith("The tool's parameters schema cannot check them")


@pytest.mark.parametrize(
    "function, reason",
    [
        ({"name": "f", "parameters": "nope"}, "'parameters' must be a JSON Schema object"),
        ({"name": "f", "parameters": ["a"]}, "'parameters' must be a JSON Schema object"),
        ({"name": "f", "parameters": {"type": "string"}}, "must describe an object"),
        ({"name": "f", "parameters": {"type": "object", "properties": 3}}, "not a valid JSON Schema"),
        ({"name": "f", "description": 5}, "'description' must be a string"),
        ({"name": ""}, "needs a 'name'"),
        ({"name": 7}, "needs a 'name'"),
    ],
)
def test_a_tool_is_validated_whole_before_it_is_applied(function, reason):
    good = {"name": "ok", "parameters": {"type": "object", "properties": {}}}
    with pytest.raises(PlaygroundError) as caught:
        parse_tools(json.dumps([good, function]))
    assert reason in caught.value.message
