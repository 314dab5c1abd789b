"""The loop end to end through the real client and the loopback fake server."""

from __future__ import annotations

import json

import pytest

from playground.client import PlaygroundClient
from playground.conversation import ReplyStats
from playground.costs import request_cost
from playground.registry import Price, default_tier, resolve_model
from playground.toolloop import (
    CancelToken,
    Isolation,
    LoopSetup,
    LoopStatus,
    ResultSource,
    SandboxTool,
    StreamingModel,
    load_templates,
    run_loop,
    run_scenarios,
    start_timeline,
)
from playground.toolloop.scenarios import fault_scenarios
from tests.fakes.server import Scenario

PROMPT = [{"role": "user", "content": "What should I wear in Paris and in Tokyo today?"}]
PARALLEL_CALLS = Scenario(
    tool_calls=[
        {"id": "call_paris", "name": "get_weather", "arguments": '{"location": "Paris"}'},
        {"id": "call_tokyo", "name": "get_weather", "arguments": '{"location": "Tokyo", "unit": "celsius"}'},
    ]
)
FINAL = Scenario(echo_tool_results=True)


def registry_price(stats: ReplyStats) -> Price | None:
    return resolve_model(stats.model, served=stats.served_model).price(default_tier("openai"))


@pytest.fixture
def model(openai_settings) -> StreamingModel:
    return StreamingModel(PlaygroundClient(openai_settings), "gpt-4.1-mini", price_of=registry_price)


def weather_setup() -> LoopSetup:
    template = load_templates()["get_weather"]
    return LoopSetup(tools=[SandboxTool(tool=template.tool, mock=template.mock)], parallel_tool_calls=True)


def test_two_parallel_calls_answered_by_mocks_on_auto_run(fake, model) -> None:
    fake.enqueue(PARALLEL_CALLS, FINAL)
    timeline = run_loop(start_timeline(PROMPT), weather_setup(), model, isolation=Isolation.DISABLED)

    assert timeline.status is LoopStatus.FINISHED and timeline.step_count == 2
    calls = timeline.steps[0].calls
    assert [(c.id, c.name, c.verdict.valid) for c in calls] == [
        ("call_paris", "get_weather", True),
        ("call_tokyo", "get_weather", True),
    ]
    assert calls[1].pretty_arguments == '{\n  "location": "Tokyo",\n  "unit": "celsius"\n}'
    assert all(c.result is not None and c.result.source is ResultSource.MOCK for c in calls)
    assert timeline.final_answer is not None
    assert timeline.final_answer.startswith("Tool results: {") and '"location": "Tokyo"' in timeline.final_answer
    for step, reason in zip(timeline.steps, ("tool_calls", "stop"), strict=True):
        stats = step.stats
        assert stats.finish_reason == reason and stats.latency_s is not None and stats.request_id
        price = resolve_model("gpt-4.1-mini").price(default_tier("openai"))
        assert price is not None
        expected = request_cost(price, stats.prompt_tokens or 0, stats.completion_tokens or 0, stats.cached_tokens)
        assert stats.cost_usd == pytest.approx(expected) and expected > 0

    sent = fake.chat_requests()[1].json
    assert sent["parallel_tool_calls"] is True and sent["tools"][0]["function"]["name"] == "get_weather"
    assert [m.get("tool_call_id") for m in sent["messages"][2:]] == ["call_paris", "call_tokyo"]
    assert json.loads(timeline.to_json())["final_answer"] == timeline.final_answer


def test_the_tool_errors_scenario_gets_a_different_final_answer(fake, model) -> None:
    fake.enqueue(PARALLEL_CALLS, FINAL, PARALLEL_CALLS, FINAL)
    errors = next(s for s in fault_scenarios(["get_weather"]) if s.name == "Tool errors")
    saved, failing = run_scenarios(model, weather_setup(), PROMPT, [errors], isolation=Isolation.DISABLED)
    assert (saved.scenario, failing.scenario) == ("As saved", "Tool errors")
    assert saved.status is failing.status is LoopStatus.FINISHED
    assert saved.step_count == failing.step_count == 2
    assert failing.final_answer == 'Tool results: {"error": "Service unavailable"} | {"error": "Service unavailable"}'
    assert saved.final_answer != failing.final_answer and "light rain" in (saved.final_answer or "")
    assert saved.cost_usd is not None and failing.cost_usd is not None and failing.cost_usd > 0


def test_stop_during_streaming_closes_the_stream(fake, openai_settings) -> None:
    fake.enqueue(Scenario(text=" ".join(["word"] * 200), chunk_delay=0.01))
    cancel = CancelToken()

    def stop_after_some_text(message) -> None:  # the user presses Stop while the reply streams
        if len(message.content.split()) >= 5:
            cancel.cancel()

    model = StreamingModel(
        PlaygroundClient(openai_settings),
        "gpt-4.1-mini",
        refresh_interval_s=0,
        on_progress=stop_after_some_text,
    )
    timeline = run_loop(start_timeline(PROMPT), weather_setup(), model, cancel=cancel, isolation=Isolation.DISABLED)
    assert timeline.status is LoopStatus.STOPPED and timeline.steps[0].stopped
    assert 5 <= len(timeline.steps[0].content.split()) < 200  # the partial reply is kept


def test_progress_shows_the_streaming_step(fake, openai_settings) -> None:
    fake.enqueue(Scenario(text="one two three four", chunk_delay=0.01))
    seen: list[str] = []
    model = StreamingModel(
        PlaygroundClient(openai_settings),
        "gpt-4.1-mini",
        refresh_interval_s=0,
        on_progress=lambda message: seen.append(message.content),
    )
    timeline = run_loop(start_timeline(PROMPT), weather_setup(), model, isolation=Isolation.DISABLED)
    assert timeline.final_answer == "one two three four"
    shown = [text for text in seen if text]
    assert shown[0] == "one" and shown[-1] == "one two three four" and len(shown) >= 4


def test_request_errors_arrive_as_our_sentences(fake, model) -> None:
    fake.enqueue(Scenario(fault="insufficient_quota"))
    timeline = run_loop(start_timeline(PROMPT), weather_setup(), model, isolation=Isolation.DISABLED)
    assert timeline.status is LoopStatus.FAILED and "run out of quota" in (timeline.steps[0].error or "")
