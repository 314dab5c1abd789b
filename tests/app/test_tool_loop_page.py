"""The Functions panel's loop under AppTest: the form editor and the JSON in sync, legacy import,
auto-run against the fake server to a final answer, the timeline, editing a result, scenarios."""

from __future__ import annotations

import json

import pytest

from components.schema_builder import FieldTarget
from components.state import STATE_KEY
from components.tool_loop import LoopKeys
from components.tools_view import ToolKeys
from tests.fakes.server import Scenario

PARALLEL_CALLS = Scenario(
    tool_calls=[
        {"id": "call_paris", "name": "get_weather", "arguments": '{"location": "Paris"}'},
        {"id": "call_tokyo", "name": "get_weather", "arguments": '{"location": "Tokyo", "unit": "celsius"}'},
    ]
)
FINAL = Scenario(echo_tool_results=True)


def tools_page(app_factory):
    app = app_factory(page="pages/tools.py")
    assert not app.exception
    return app


def workspace(app):
    return app.session_state[STATE_KEY].workspace


def click(app, key):
    app.button(key=key).click().run()
    assert not app.exception
    assert not [error.value for error in app.error if "could not be drawn" in error.value]  # no part failed


def definitions(app):
    return json.loads(app.text_area(key=ToolKeys.DEFINITIONS).value)


def test_a_tool_defined_with_the_form_shows_in_the_json(app_factory):
    app = tools_page(app_factory)
    click(app, ToolKeys.NEW)
    assert definitions(app)[0]["function"]["name"] == "new_tool"
    app.text_input(key=ToolKeys.form("new_tool", "name")).input("lookup_order").run()
    app.text_area(key=ToolKeys.form("lookup_order", "description")).input("Find an order.").run()
    fields = FieldTarget(edit=lambda change: None, prefix=ToolKeys.parameters_prefix("lookup_order"))
    app.text_input(key=fields.add_key("name")).input("order_id").run()
    app.text_input(key=fields.add_key("description")).input("Order number").run()
    click(app, fields.add_button_key)
    [tool] = definitions(app)
    function = tool["function"]
    assert function["name"] == "lookup_order" and function["description"] == "Find an order."
    assert function["strict"] is True
    assert function["parameters"]["properties"]["order_id"] == {"type": "string", "description": "Order number"}
    assert function["parameters"]["required"] == ["order_id"]
    assert any("lookup_order" in caption.value and "strict rules pass" in caption.value for caption in app.caption)
    # and back: an edit in the JSON shows in the form
    function["description"] = "Find a customer's order."
    app.text_area(key=ToolKeys.DEFINITIONS).input(json.dumps([tool])).run()
    click(app, ToolKeys.APPLY)
    assert app.text_area(key=ToolKeys.form("lookup_order", "description")).value == "Find a customer's order."


def test_a_strict_tool_is_linted_with_the_strict_rules_and_the_form_toggles_strict(app_factory):
    app = tools_page(app_factory)
    loose = {"type": "object", "properties": {"when": {"type": "string"}}}
    tool = {"type": "function", "function": {"name": "plan", "strict": True, "parameters": loose}}
    app.text_area(key=ToolKeys.DEFINITIONS).input(json.dumps([tool])).run()
    click(app, ToolKeys.APPLY)
    assert any("would be rejected" in w.value and "additionalProperties" in w.value for w in app.warning)
    app.toggle(key=ToolKeys.form("plan", "strict")).set_value(False).run()
    assert "strict" not in definitions(app)[0]["function"]
    assert not any("would be rejected" in warning.value for warning in app.warning)


def test_importing_legacy_functions_converts_them_to_tools(app_factory):
    app = tools_page(app_factory)
    legacy = {
        "model": "gpt-4.1-mini",
        "messages": [{"role": "user", "content": "Weather?"}],
        "functions": [
            {"name": "get_weather", "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}
        ],
        "function_call": {"name": "get_weather"},
    }
    app.text_area(key=ToolKeys.IMPORT_TEXT).input(json.dumps(legacy)).run()
    click(app, ToolKeys.IMPORT)
    [tool] = definitions(app)
    assert tool["type"] == "function" and tool["function"]["name"] == "get_weather"
    assert workspace(app).tool_choice == "get_weather" and app.selectbox(key=ToolKeys.CHOICE).value == "get_weather"
    assert any("Converted the legacy 'functions'" in info.value for info in app.info)


def test_a_bad_import_says_why_and_keeps_the_tools(app_factory):
    app = tools_page(app_factory)
    click(app, ToolKeys.ADD_TEMPLATE)
    app.text_area(key=ToolKeys.IMPORT_TEXT).input('{"openapi": "2.0", "paths": {}}').run()
    click(app, ToolKeys.IMPORT)
    assert any("OpenAPI 3" in error.value for error in app.error)
    assert [tool["function"]["name"] for tool in workspace(app).tools] == ["get_weather"]


def run_to_the_end(app, fake):
    click(app, ToolKeys.ADD_TEMPLATE)  # get_weather, with its template mock
    app.text_area(key=LoopKeys.PROMPT).input("What should I wear in Paris and in Tokyo?").run()
    fake.enqueue(PARALLEL_CALLS, FINAL)
    click(app, LoopKeys.RUN)


def test_auto_run_answers_parallel_calls_with_mocks_and_reaches_a_final_answer(app_factory, fake):
    app = tools_page(app_factory)
    run_to_the_end(app, fake)
    timeline = workspace(app).tool_loop.timeline
    assert timeline is not None and timeline.status.value == "finished" and timeline.step_count == 2
    sent = fake.chat_requests()[-1].json["messages"]
    assert [m.get("tool_call_id") for m in sent[-2:]] == ["call_paris", "call_tokyo"]
    markdown = " ".join(m.value for m in app.markdown)
    assert "**Step 1**" in markdown and "**Step 2**" in markdown and "finish: tool_calls" in markdown
    assert "`get_weather` · id `call_paris`" in markdown and "`call_tokyo`" in markdown
    assert any("Arguments are valid" in success.value for success in app.success)
    assert any("Tool results:" in success.value and "Tokyo" in success.value for success in app.success)
    assert any("Result from mock (template)" in caption.value for caption in app.caption)
    assert app.text_area(key=LoopKeys.result("call_paris")).value.startswith('{"location": "Paris"')
    assert json.loads(timeline.to_json())["final_answer"] == timeline.final_answer  # what the download holds
    assert workspace(app).paid_reply_count() == 2  # both steps count in the session's cost
    assert workspace(app).session_cost() == pytest.approx(timeline.total_cost_usd)


def test_editing_a_result_re_runs_from_there(app_factory, fake):
    app = tools_page(app_factory)
    run_to_the_end(app, fake)
    fake.enqueue(FINAL)
    app.text_area(key=LoopKeys.result("call_tokyo")).input('{"temperature": -40}').run()
    click(app, LoopKeys.save_result("call_tokyo"))
    timeline = workspace(app).tool_loop.timeline
    assert timeline.status.value == "finished" and timeline.step_count == 2
    assert '{"temperature": -40}' in timeline.final_answer
    assert timeline.steps[0].calls[1].result.source.value == "typed"
    assert len(fake.chat_requests()) == 3  # step 1 was not sent again
    assert app.text_area(key=LoopKeys.result("call_tokyo")).value == '{"temperature": -40}'
    fake.enqueue(PARALLEL_CALLS, FINAL)  # a new run with the same call ids shows its own results
    click(app, LoopKeys.RUN)
    assert app.text_area(key=LoopKeys.result("call_tokyo")).value.startswith('{"location": "Tokyo"')


def test_a_call_without_a_mock_waits_for_a_typed_result(app_factory, fake):
    app = tools_page(app_factory)
    click(app, ToolKeys.ADD_TEMPLATE)
    app.radio(key=LoopKeys.mock_kind("get_weather")).set_value("none").run()
    click(app, LoopKeys.save_mock("get_weather"))
    app.text_area(key=LoopKeys.PROMPT).input("Weather?").run()
    fake.enqueue(Scenario(tool_calls=[{"id": "call_1", "name": "get_weather", "arguments": '{"city": 1}'}]))
    click(app, LoopKeys.RUN)
    assert any("location" in error.value and "Invalid arguments" in error.value for error in app.error)
    assert any("type the result" in warning.value for warning in app.warning)
    app.text_area(key=LoopKeys.result("call_1")).input("sunny").run()
    fake.enqueue(FINAL)
    click(app, LoopKeys.SEND_TYPED)
    assert workspace(app).tool_loop.timeline.final_answer == "Tool results: sunny"


def test_max_steps_guard_and_pause(app_factory, fake):
    app = tools_page(app_factory)
    click(app, ToolKeys.ADD_TEMPLATE)
    app.text_area(key=LoopKeys.PROMPT).input("Weather?").run()
    app.toggle(key=LoopKeys.PAUSE).set_value(True).run()
    fake.enqueue(PARALLEL_CALLS)
    click(app, LoopKeys.RUN)
    timeline = workspace(app).tool_loop.timeline
    assert timeline.status.value == "paused" and timeline.step_count == 1
    assert any("Paused before the next step" in m.value for m in app.markdown)
    fake.enqueue(FINAL)
    click(app, LoopKeys.CONTINUE)
    assert workspace(app).tool_loop.timeline.status.value == "finished"

    app.toggle(key=LoopKeys.PAUSE).set_value(False).run()
    app.number_input(key=LoopKeys.MAX_STEPS).set_value(1).run()
    fake.enqueue(PARALLEL_CALLS)
    click(app, LoopKeys.RUN)
    assert workspace(app).tool_loop.timeline.status.value == "max_steps"


def test_scenarios_run_side_by_side(app_factory, fake):
    app = tools_page(app_factory)
    run_to_the_end(app, fake)
    click(app, LoopKeys.ADD_FAULTS)
    names = [s.name for s in workspace(app).tool_loop.scenarios]
    assert names == ["Tool errors", "Tool times out", "Tool returns nothing", "Tool returns a huge payload"]
    fake.enqueue(*[PARALLEL_CALLS, FINAL] * 5)
    click(app, LoopKeys.COMPARE)
    outcomes = workspace(app).tool_loop.comparison
    assert [o.scenario for o in outcomes] == [
        "As saved",
        "Tool errors",
        "Tool times out",
        "Tool returns nothing",
        "Tool returns a huge payload",
    ]
    assert all(o.step_count == 2 for o in outcomes)
    assert outcomes[0].final_answer != outcomes[1].final_answer and "Service unavailable" in outcomes[1].final_answer
    markdown = [m.value for m in app.markdown]
    assert "**Tool errors**" in markdown and "**As saved**" in markdown
    assert any(caption.value.startswith("2 step(s) · $") for caption in app.caption)


def test_the_tool_choice_is_shown_where_the_tools_are_sent(app_factory):
    app = tools_page(app_factory)
    click(app, ToolKeys.ADD_TEMPLATE)
    app.selectbox(key=ToolKeys.CHOICE).select("required").run()
    assert workspace(app).tool_loop.setup.tool_choice == "required"
    app.switch_page("pages/chat.py").run()
    [chips] = [c.value for c in app.caption if "tool_choice" in c.value]  # one line says it on the chat page
    assert "1 tool (tool_choice `required`, parallel calls on)" in chips


def test_python_code_answers_when_the_server_enables_it(app_factory, fake, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_ALLOW_TOOL_CODE", "1")
    app = tools_page(app_factory)
    click(app, ToolKeys.ADD_TEMPLATE)
    assert any("Python tools are on" in caption.value for caption in app.caption)
    code = "def run(arguments):\n    return {'from': 'code', 'city': arguments['location']}"
    app.text_area(key=LoopKeys.code("get_weather")).input(code).run()
    click(app, LoopKeys.save_code("get_weather"))
    app.text_area(key=LoopKeys.PROMPT).input("Weather?").run()
    fake.enqueue(Scenario(tool_calls=[{"id": "call_1", "name": "get_weather", "arguments": '{"location": "Oslo"}'}]))
    fake.enqueue(FINAL)
    click(app, LoopKeys.RUN)
    call = workspace(app).tool_loop.timeline.steps[0].calls[0]
    assert call.result.source.value == "code" and json.loads(call.result.content) == {"from": "code", "city": "Oslo"}
    assert any(c.value.startswith("Result from code (ok;") for c in app.caption)


def test_python_code_is_off_by_default(app_factory, monkeypatch):
    monkeypatch.delenv("PLAYGROUND_ALLOW_TOOL_CODE", raising=False)
    app = tools_page(app_factory)
    click(app, ToolKeys.ADD_TEMPLATE)
    assert any("Python tools are off" in caption.value for caption in app.caption)
    assert not [area for area in app.text_area if area.key == LoopKeys.code("get_weather")]


def test_a_named_scenario_with_its_own_mock(app_factory, fake):
    app = tools_page(app_factory)
    run_to_the_end(app, fake)
    app.text_input(key=LoopKeys.NEW_SCENARIO).input("Snow in Tokyo").run()
    click(app, LoopKeys.ADD_SCENARIO)
    mocks = {
        "get_weather": {
            "kind": "canned",
            "cases": [{"match": {"location": "Tokyo"}, "output": "snow"}],
            "default": "sun",
        }
    }
    app.text_area(key=LoopKeys.scenario("Snow in Tokyo")).input(json.dumps(mocks)).run()
    click(app, LoopKeys.save_scenario("Snow in Tokyo"))
    app.text_area(key=LoopKeys.scenario("Snow in Tokyo")).input('{"get_weather": {"kind": "nope"}}').run()
    click(app, LoopKeys.save_scenario("Snow in Tokyo"))
    assert any("Scenario Snow in Tokyo" in error.value for error in app.error)  # refused, the saved one kept
    fake.enqueue(PARALLEL_CALLS, FINAL, PARALLEL_CALLS, FINAL)
    click(app, LoopKeys.COMPARE)
    baseline, snow = workspace(app).tool_loop.comparison
    assert baseline.final_answer is not None and "light rain" in baseline.final_answer
    assert snow.scenario == "Snow in Tokyo" and snow.final_answer == "Tool results: sun | snow"
    click(app, LoopKeys.remove_scenario("Snow in Tokyo"))
    assert workspace(app).tool_loop.scenarios == []


def test_a_broken_canned_mock_is_refused_with_a_message_and_the_saved_one_kept(app_factory):
    app = tools_page(app_factory)
    click(app, ToolKeys.ADD_TEMPLATE)
    app.radio(key=LoopKeys.mock_kind("get_weather")).set_value("canned").run()
    app.text_area(key=LoopKeys.mock_text("get_weather")).input('[{"match": 3}]').run()
    click(app, LoopKeys.save_mock("get_weather"))
    assert [e.value for e in app.error if "canned cases of get_weather must be a JSON list" in e.value]
    assert workspace(app).tool_loop.setup.tool_named("get_weather").mock.kind == "template"
    app.text_area(key=LoopKeys.mock_text("get_weather")).input(
        '[{"match": {"location": "Oslo"}, "output": "-3"}]'
    ).run()
    app.text_input(key=LoopKeys.mock_default("get_weather")).input("{}").run()
    click(app, LoopKeys.save_mock("get_weather"))
    mock = workspace(app).tool_loop.setup.tool_named("get_weather").mock
    assert mock.kind == "canned" and mock.produce({"location": "Oslo"}) == "-3" and mock.produce({}) == "{}"
