"""The Workspace's tool-loop methods: the loop runs the chat's tools, mocks and code follow a tool by
name (also through a rename), a tool's parameters are edited with the schema builder's document."""

from __future__ import annotations

import pytest

from playground.errors import PlaygroundError
from playground.toolloop import CannedMock, MockScenario, load_templates
from playground.workspace import Workspace

WEATHER = load_templates()["get_weather"]
ORDERS = load_templates()["get_order_status"]


def test_the_loop_runs_the_chats_tools_and_keeps_each_mock_by_name():
    workspace = Workspace()
    workspace.add_tool(WEATHER.tool, WEATHER.mock)
    workspace.add_tool(ORDERS.tool, ORDERS.mock)
    workspace.set_tool_code("get_weather", "def run(arguments):\n    return 1")
    workspace.set_tools([ORDERS.tool, WEATHER.tool])  # an applied JSON edit: same tools, new order
    setup = workspace.tool_loop.setup
    assert [sandbox.name for sandbox in setup.tools] == ["get_order_status", "get_weather"]
    weather = setup.tool_named("get_weather")
    assert weather is not None and weather.mock == WEATHER.mock and weather.code
    workspace.set_tools([ORDERS.tool])
    assert setup.tool_named("get_weather") is None
    workspace.add_tool(WEATHER.tool, CannedMock(default="x"))  # back, with a fresh mock
    assert workspace.tool_loop.setup.tool_named("get_weather").mock == CannedMock(default="x")


def test_tool_choice_and_parallel_calls_are_the_chats():
    workspace = Workspace()
    workspace.add_tool(WEATHER.tool, WEATHER.mock)
    workspace.set_tool_choice("get_weather")
    workspace.set_parallel_tool_calls(False)
    setup = workspace.loop_setup()
    assert setup.tool_choice == {"type": "function", "function": {"name": "get_weather"}}
    assert setup.parallel_tool_calls is False
    assert setup.tool_choice_for(2) == "auto"  # a forced choice holds for the first step only


def test_a_rename_carries_the_mock_code_scenarios_and_tool_choice():
    workspace = Workspace()
    workspace.add_tool(WEATHER.tool, WEATHER.mock)
    workspace.set_tool_code("get_weather", "def run(arguments):\n    return 1")
    workspace.add_fault_scenarios()
    workspace.set_tool_choice("get_weather")
    workspace.update_tool("get_weather", new_name="weather_now", description="Now.", strict=True)
    [tool] = workspace.tools
    assert tool["function"]["name"] == "weather_now" and tool["function"]["description"] == "Now."
    assert tool["function"]["strict"] is True
    sandbox = workspace.tool_loop.setup.tool_named("weather_now")
    assert sandbox is not None and sandbox.mock == WEATHER.mock and sandbox.code
    assert all(list(scenario.mocks) == ["weather_now"] for scenario in workspace.tool_loop.scenarios)
    assert workspace.tool_choice == "weather_now"
    workspace.update_tool("weather_now", strict=False)
    assert "strict" not in workspace.tools[0]["function"]


def test_a_rename_to_a_taken_or_empty_name_is_refused():
    workspace = Workspace()
    workspace.add_tool(WEATHER.tool)
    workspace.add_tool(ORDERS.tool)
    with pytest.raises(PlaygroundError, match="already a tool"):
        workspace.update_tool("get_weather", new_name="get_order_status")
    with pytest.raises(PlaygroundError, match="needs a name"):
        workspace.update_tool("get_weather", new_name="")
    assert [tool["function"]["name"] for tool in workspace.tools] == ["get_weather", "get_order_status"]


def test_parameters_are_edited_with_the_schema_builders_document():
    workspace = Workspace()
    workspace.add_tool(ORDERS.tool)
    path = workspace.edit_tool_parameters("get_order_status", lambda doc: doc.add_field({"name": "note"}))
    assert path == ("note",)
    parameters = workspace.tools[0]["function"]["parameters"]
    assert parameters["properties"]["note"] == {"type": "string"} and "note" in parameters["required"]
    assert workspace.tool_loop.setup.tools[0].tool["function"]["parameters"] == parameters
    with pytest.raises(PlaygroundError):
        workspace.edit_tool_parameters("get_order_status", lambda doc: doc.add_field({"name": "note"}))
    assert workspace.tools[0]["function"]["parameters"] == parameters  # a refused edit changes nothing


def test_scenarios_are_named_uniquely():
    workspace = Workspace()
    workspace.set_scenario(MockScenario(name="a"))
    workspace.set_scenario(MockScenario(name="b"))
    with pytest.raises(PlaygroundError, match="already a scenario"):
        workspace.set_scenario(MockScenario(name="b"), replacing="a")
    workspace.set_scenario(MockScenario(name="c"), replacing="a")
    assert [s.name for s in workspace.tool_loop.scenarios] == ["c", "b"]


def test_the_loop_needs_a_prompt_and_sends_the_system_prompt_first():
    workspace = Workspace()
    with pytest.raises(PlaygroundError, match="prompt"):
        workspace.start_tool_loop()
    workspace.set_system_prompt("Be brief.")
    workspace.set_loop_prompt("Weather?")
    assert workspace.start_tool_loop().messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather?"},
    ]
