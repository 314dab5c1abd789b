"""The loop against a scripted endpoint: answering, validation, max steps, stop, pause/edit/resume,
scenarios and the timeline's serialisation."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from playground.errors import PlaygroundError
from playground.toolloop import (
    AssistantReply,
    CancelToken,
    CannedCase,
    CannedMock,
    Isolation,
    LoopSetup,
    LoopStatus,
    ModelCall,
    ResultSource,
    SandboxTool,
    StepRequest,
    StepStats,
    TemplateMock,
    Timeline,
    ToolLoopSession,
    discard_last_step,
    fault_scenarios,
    load_templates,
    run_loop,
    run_scenarios,
    set_result,
    start_timeline,
    validate_call,
)

WEATHER = load_templates()["get_weather"]
PROMPT = [{"role": "user", "content": "Weather in Paris and Tokyo?"}]


class ScriptedModel:
    """Answers each request with the next scripted reply (or a function of the request)."""

    def __init__(self, *replies: AssistantReply | Any) -> None:
        self.replies = list(replies)
        self.requests: list[StepRequest] = []

    def complete(self, request: StepRequest, cancel: CancelToken) -> AssistantReply:
        self.requests.append(request)
        reply = self.replies.pop(0)
        return reply(request) if callable(reply) else reply


def calls_reply(*cities: str, cost: float = 0.001) -> AssistantReply:
    return AssistantReply(
        tool_calls=[ModelCall(f"call_{city}", "get_weather", json.dumps({"location": city})) for city in cities],
        stats=StepStats(prompt_tokens=50, completion_tokens=20, cost_usd=cost, finish_reason="tool_calls"),
    )


def final_from_results(request: StepRequest) -> AssistantReply:
    results = [m["content"] for m in request.messages if m["role"] == "tool"]
    return AssistantReply(
        content="Final: " + " | ".join(results),
        stats=StepStats(prompt_tokens=90, completion_tokens=10, cost_usd=0.002, finish_reason="stop"),
    )


def setup(**overrides: Any) -> LoopSetup:
    return LoopSetup(tools=[SandboxTool(tool=WEATHER.tool, mock=WEATHER.mock)], **overrides)


def test_validation_verdicts_name_the_field() -> None:
    tool = SandboxTool(tool=WEATHER.tool)
    assert validate_call(tool, '{"location": "Paris"}').summary == "Arguments are valid against the tool's schema."
    wrong = validate_call(tool, '{"location": "Paris", "unit": "kelvin"}')
    assert not wrong.valid and wrong.errors[0].startswith("unit:")
    assert "(root)" in validate_call(tool, "{}").summary and "location" in validate_call(tool, "{}").summary
    assert "not valid JSON" in validate_call(tool, '{"location": ').summary
    assert "not defined" in validate_call(None, "{}").summary


def test_parallel_calls_answered_by_mocks_then_final_answer() -> None:
    model = ScriptedModel(calls_reply("Paris", "Tokyo"), final_from_results)
    timeline = run_loop(start_timeline(PROMPT), setup(), model, isolation=Isolation.DISABLED)
    assert timeline.status is LoopStatus.FINISHED and timeline.step_count == 2
    first = timeline.steps[0]
    assert [call.result.source for call in first.calls] == [ResultSource.MOCK] * 2  # type: ignore[union-attr]
    assert all(call.verdict.valid for call in first.calls)
    second_request = model.requests[1].messages
    assert second_request[1]["tool_calls"][1]["id"] == "call_Tokyo"
    assert [(m["tool_call_id"], json.loads(m["content"])["location"]) for m in second_request[2:]] == [
        ("call_Paris", "Paris"),
        ("call_Tokyo", "Tokyo"),
    ]
    assert timeline.final_answer is not None and "Tokyo" in timeline.final_answer
    assert timeline.total_cost_usd == pytest.approx(0.003) and timeline.total_tokens == 170


def test_max_steps_guard_ends_a_loop_that_never_answers() -> None:
    model = ScriptedModel(*[calls_reply("Paris") for _ in range(5)])
    timeline = run_loop(start_timeline(PROMPT), setup(max_steps=3), model, isolation=Isolation.DISABLED)
    assert timeline.status is LoopStatus.MAX_STEPS and timeline.step_count == 3 and len(model.requests) == 3


def test_stop_between_steps_and_continue_later() -> None:
    cancel = CancelToken()
    model = ScriptedModel(calls_reply("Paris"), final_from_results)
    timeline = run_loop(
        start_timeline(PROMPT),
        setup(),
        model,
        cancel=cancel,
        isolation=Isolation.DISABLED,
        on_update=lambda _: cancel.cancel(),
    )
    assert timeline.status is LoopStatus.STOPPED and len(model.requests) == 1
    assert run_loop(timeline, setup(), model, isolation=Isolation.DISABLED).status is LoopStatus.FINISHED


def test_a_stream_stopped_mid_way_stops_the_loop_and_can_be_sent_again() -> None:
    model = ScriptedModel(AssistantReply(content="partial", stopped=True), final_from_results)
    timeline = run_loop(start_timeline(PROMPT), setup(), model, isolation=Isolation.DISABLED)
    assert timeline.status is LoopStatus.STOPPED and timeline.steps[0].stopped
    discard_last_step(timeline)
    assert run_loop(timeline, setup(), model, isolation=Isolation.DISABLED).status is LoopStatus.FINISHED
    assert timeline.step_count == 1


def test_request_failure_is_recorded_on_the_step() -> None:
    model = ScriptedModel(AssistantReply(error="Rate limit reached after automatic retries. Retry shortly."))
    timeline = run_loop(start_timeline(PROMPT), setup(), model, isolation=Isolation.DISABLED)
    assert timeline.status is LoopStatus.FAILED and "Rate limit" in (timeline.steps[0].error or "")


def test_pause_edit_and_resume() -> None:
    model = ScriptedModel(calls_reply("Paris", "Tokyo"), final_from_results)
    timeline = run_loop(start_timeline(PROMPT), setup(pause_before_each_step=True), model, isolation=Isolation.DISABLED)
    assert timeline.status is LoopStatus.PAUSED and len(model.requests) == 1
    assert all(call.result is not None for call in timeline.steps[0].calls)  # pending results, editable
    set_result(timeline, "call_Tokyo", '{"location": "Tokyo", "temperature": 30}')
    run_loop(timeline, setup(pause_before_each_step=True), model, isolation=Isolation.DISABLED)
    assert timeline.status is LoopStatus.FINISHED and '"temperature": 30' in (timeline.final_answer or "")
    assert timeline.steps[0].calls[1].result.source is ResultSource.TYPED  # type: ignore[union-attr]


def test_editing_an_earlier_result_reruns_from_there() -> None:
    model = ScriptedModel(calls_reply("Paris"), final_from_results, final_from_results)
    timeline = run_loop(start_timeline(PROMPT), setup(), model, isolation=Isolation.DISABLED)
    assert timeline.status is LoopStatus.FINISHED and timeline.step_count == 2
    set_result(timeline, "call_Paris", "sunny, 25 C")
    assert timeline.step_count == 1 and timeline.final_answer is None and timeline.status is LoopStatus.PAUSED
    run_loop(timeline, setup(), model, isolation=Isolation.DISABLED)
    assert timeline.final_answer == "Final: sunny, 25 C" and timeline.step_count == 2 and len(model.requests) == 3
    with pytest.raises(PlaygroundError, match="no call"):
        set_result(timeline, "call_nope", "x")


def test_a_call_without_an_automatic_answer_waits_for_a_typed_one() -> None:
    model = ScriptedModel(calls_reply("Paris"), final_from_results)
    bare = LoopSetup(tools=[SandboxTool(tool=WEATHER.tool, code="def run(arguments):\n    return 1")])
    timeline = run_loop(start_timeline(PROMPT), bare, model, isolation=Isolation.DISABLED)
    assert timeline.status is LoopStatus.NEEDS_INPUT
    assert "Python tools are off" in (timeline.pending_calls()[0].problem or "")
    set_result(timeline, "call_Paris", "rain")
    assert run_loop(timeline, bare, model, isolation=Isolation.DISABLED).final_answer == "Final: rain"


def test_broken_mock_and_undefined_tool_explain_themselves() -> None:
    broken = LoopSetup(tools=[SandboxTool(tool=WEATHER.tool, mock=TemplateMock(template="{{ city }}"))])
    model = ScriptedModel(
        AssistantReply(tool_calls=[ModelCall("a", "get_weather", '{"location": "X"}'), ModelCall("b", "nope", "{}")])
    )
    timeline = run_loop(start_timeline(PROMPT), broken, model, isolation=Isolation.DISABLED)
    first, second = timeline.steps[0].calls
    assert "'city' is undefined" in (first.problem or "") and "not defined" in (second.problem or "")


def test_code_answers_when_enabled() -> None:
    code_tool = SandboxTool(
        tool=WEATHER.tool, mock=WEATHER.mock, code="def run(arguments):\n    return {'from': 'code', **arguments}"
    )
    model = ScriptedModel(calls_reply("Paris"), final_from_results)
    timeline = run_loop(start_timeline(PROMPT), LoopSetup(tools=[code_tool]), model, isolation=Isolation.RLIMITS)
    result = timeline.steps[0].calls[0].result
    assert result is not None and result.source is ResultSource.CODE and json.loads(result.content)["from"] == "code"
    assert "accident isolation" in (result.detail or "")


def test_parallel_code_calls_run_side_by_side() -> None:
    slow = "import time\ndef run(arguments):\n    time.sleep(1.0)\n    return arguments['location']"
    tool = SandboxTool(tool=WEATHER.tool, code=slow)
    model = ScriptedModel(calls_reply("Paris", "Tokyo", "Lima"), final_from_results)
    started = time.perf_counter()
    timeline = run_loop(start_timeline(PROMPT), LoopSetup(tools=[tool]), model, isolation=Isolation.RLIMITS)
    assert timeline.final_answer == "Final: Paris | Tokyo | Lima"  # matched by tool_call_id, in call order
    assert time.perf_counter() - started < 2.5  # three 1 s calls took about one (in turn: over 3 s)


def test_timeline_round_trips_through_json() -> None:
    model = ScriptedModel(calls_reply("Paris", "Tokyo"), final_from_results)
    timeline = run_loop(start_timeline(PROMPT), setup(), model, isolation=Isolation.DISABLED)
    exported = json.loads(timeline.to_json())
    assert exported["steps"][0]["calls"][0]["verdict"]["valid"] is True
    assert exported["steps"][0]["stats"]["finish_reason"] == "tool_calls"
    assert Timeline.from_json(timeline.to_json()) == timeline
    assert LoopSetup.model_validate_json(setup().model_dump_json()) == setup()
    saved = ToolLoopSession(setup=setup(), scenarios=fault_scenarios(["get_weather"]), timeline=timeline)
    assert ToolLoopSession.model_validate_json(saved.model_dump_json()) == saved


def test_scenarios_run_the_prompt_under_each_variant() -> None:
    replies = []
    for _ in range(5):
        replies += [calls_reply("Paris"), final_from_results]
    model = ScriptedModel(*replies)
    outcomes = run_scenarios(model, setup(), PROMPT, fault_scenarios(["get_weather"]), isolation=Isolation.DISABLED)
    by_name = {outcome.scenario: outcome for outcome in outcomes}
    assert list(by_name) == [
        "As saved",
        "Tool errors",
        "Tool times out",
        "Tool returns nothing",
        "Tool returns a huge payload",
    ]
    assert all(o.status is LoopStatus.FINISHED and o.step_count == 2 for o in outcomes)
    assert "light rain" in (by_name["As saved"].final_answer or "")
    assert by_name["Tool errors"].final_answer == 'Final: {"error": "Service unavailable"}'
    assert "timed out" in (by_name["Tool times out"].final_answer or "")
    assert by_name["Tool returns nothing"].final_answer == "Final: "
    assert len(by_name["Tool returns a huge payload"].final_answer or "") > 100_000
    assert by_name["Tool errors"].cost_usd == pytest.approx(0.003)
    assert by_name["Tool errors"].timeline.steps[0].calls[0].result.ok is False  # type: ignore[union-attr]


def test_canned_mock_answers_by_arguments_in_the_loop() -> None:
    canned = CannedMock(cases=[CannedCase(match={"location": "Tokyo"}, output="tokyo-canned")], default="other")
    model = ScriptedModel(calls_reply("Paris", "Tokyo"), final_from_results)
    timeline = run_loop(
        start_timeline(PROMPT),
        LoopSetup(tools=[SandboxTool(tool=WEATHER.tool, mock=canned)]),
        model,
        isolation=Isolation.DISABLED,
    )
    assert timeline.final_answer == "Final: other | tokyo-canned"


def test_a_forced_tool_choice_is_sent_on_the_first_step_only() -> None:
    named = {"type": "function", "function": {"name": "get_weather"}}
    model = ScriptedModel(calls_reply("Paris"), final_from_results)
    run_loop(start_timeline(PROMPT), setup(tool_choice=named), model, isolation=Isolation.DISABLED)
    assert [request.tool_choice for request in model.requests] == [named, "auto"]
    model = ScriptedModel(calls_reply("Paris"), final_from_results)
    run_loop(
        start_timeline(PROMPT),
        setup(tool_choice="required", reset_tool_choice=False),
        model,
        isolation=Isolation.DISABLED,
    )
    assert [request.tool_choice for request in model.requests] == ["required", "required"]


def test_an_empty_prompt_is_refused() -> None:
    with pytest.raises(PlaygroundError, match="Write a prompt"):
        start_timeline([])
