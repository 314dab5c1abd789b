"""The Functions panel in a real browser: add a tool, the model calls it, answer it, see the reply."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from components.tool_loop import LoopKeys
from components.tools_view import ToolKeys
from tests.e2e.helpers import by_key, chat_messages, open_app, send_chat_message, wait_for_app_idle
from tests.fakes.server import FakeOpenAIServer, Scenario

MARKDOWN = "[data-testid=stMarkdownContainer]"


def test_tool_call_round_trip(page: Page, app_url: str, fake: FakeOpenAIServer) -> None:
    open_app(page, app_url, "tools")
    by_key(page, ToolKeys.ADD_TEMPLATE).get_by_role("button").click()  # the first template: get_weather
    wait_for_app_idle(page, expect=page.get_by_text("Tools (1 defined)"))

    fake.enqueue(Scenario(tool_calls=[{"name": "get_weather", "arguments": '{"location": "Paris"}'}]))
    send_chat_message(page, "What's the weather in Paris?")
    send_button = by_key(page, ToolKeys.SEND_RESULTS).get_by_role("button")
    wait_for_app_idle(page, expect=send_button)
    expect(page.get_by_text("The model called 1 tool(s).")).to_be_visible()

    fake.enqueue(Scenario(text="It is 18 degrees and raining in Paris."))
    send_button.click()
    final = chat_messages(page, "assistant").last
    wait_for_app_idle(page, expect=final.locator(MARKDOWN, has_text="raining in Paris"))

    first, second = fake.chat_requests()
    assert first.json["tools"][0]["function"]["name"] == "get_weather"
    tool_message = second.json["messages"][-1]
    assert tool_message["role"] == "tool"
    assert json.loads(tool_message["content"])["conditions"] == "light rain"  # the template's canned output
    assert tool_message["tool_call_id"] == second.json["messages"][-2]["tool_calls"][0]["id"]


EVIL = "http://evil.example"


def test_a_tool_name_and_call_id_from_the_model_put_no_image_or_link_in_the_page(
    page: Page, app_url: str, fake: FakeOpenAIServer
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    open_app(page, app_url, "tools")
    by_key(page, ToolKeys.ADD_TEMPLATE).get_by_role("button").click()
    wait_for_app_idle(page, expect=page.get_by_text("Tools (1 defined)"))

    name = f"x` ![img]({EVIL}/i.png) [link]({EVIL}) <{EVIL}/auto> {EVIL}/bare `"
    call_id = f"call` ![id]({EVIL}/id.png) [id]({EVIL}/id) `"
    fake.enqueue(Scenario(tool_calls=[{"name": name, "arguments": "{}", "id": call_id}]))
    send_chat_message(page, "What's the weather?")
    wait_for_app_idle(page, expect=by_key(page, ToolKeys.SEND_RESULTS).get_by_role("button"))

    expect(page.get_by_text("The model called 1 tool(s).")).to_be_visible()
    expect(page.locator("code", has_text="![img](").first).to_be_visible()  # the name, drawn literally
    assert page.locator("img[src*='evil.example']").count() == 0
    assert page.locator("a[href*='evil.example']").count() == 0
    assert not [url for url in requested if "evil.example" in url]


PARALLEL_CALLS = Scenario(
    tool_calls=[
        {"id": "call_paris", "name": "get_weather", "arguments": '{"location": "Paris"}'},
        {"id": "call_tokyo", "name": "get_weather", "arguments": '{"location": "Tokyo", "unit": "celsius"}'},
    ]
)


def test_auto_run_answers_two_parallel_calls_with_mocks_then_a_failing_tool_scenario_differs(
    page: Page, app_url: str, fake: FakeOpenAIServer
) -> None:
    open_app(page, app_url, "tools")
    by_key(page, ToolKeys.ADD_TEMPLATE).get_by_role("button").click()  # get_weather and its template mock
    wait_for_app_idle(page, expect=page.get_by_text("Tools (1 defined)"))
    prompt = by_key(page, LoopKeys.PROMPT).locator("textarea")
    prompt.fill("What should I wear in Paris and in Tokyo?")
    prompt.press("Control+Enter")
    wait_for_app_idle(page)

    fake.enqueue(PARALLEL_CALLS, Scenario(echo_tool_results=True))
    by_key(page, LoopKeys.RUN).get_by_role("button").click()
    timeline = by_key(page, LoopKeys.TIMELINE)
    wait_for_app_idle(page, expect=timeline.get_by_text("Final answer", exact=True))
    expect(timeline.get_by_text("Step 1", exact=False).first).to_be_visible()
    expect(timeline.get_by_text("Step 2", exact=False).first).to_be_visible()
    expect(timeline.locator("code", has_text="call_paris")).to_be_visible()
    expect(timeline.locator("code", has_text="call_tokyo")).to_be_visible()
    saved_answer = timeline.locator("[data-testid=stAlertContentSuccess]", has_text="Tool results:")
    expect(saved_answer).to_contain_text("light rain")
    _, second = fake.chat_requests()
    assert [m.get("tool_call_id") for m in second.json["messages"][-2:]] == ["call_paris", "call_tokyo"]

    page.get_by_role("tab", name="Scenarios").click()
    by_key(page, LoopKeys.ADD_FAULTS).get_by_role("button").click()
    wait_for_app_idle(page, expect=page.get_by_text("Tool errors · overrides get_weather"))
    fake.enqueue(*[PARALLEL_CALLS, Scenario(echo_tool_results=True)] * 5)
    by_key(page, LoopKeys.COMPARE).get_by_role("button").click()
    comparison = by_key(page, LoopKeys.COMPARISON)
    wait_for_app_idle(page, expect=comparison.get_by_text("Tool returns a huge payload"), timeout=60_000)
    baseline, errors = by_key(comparison, LoopKeys.outcome(0)), by_key(comparison, LoopKeys.outcome(1))
    expect(baseline).to_contain_text("As saved")
    expect(errors).to_contain_text("Tool errors")
    expect(baseline).to_contain_text("light rain")
    expect(errors).to_contain_text("Service unavailable")
    expect(errors).not_to_contain_text("light rain")
    expect(errors).to_contain_text("2 step(s)")


def test_stop_keeps_the_finished_steps_and_continue_goes_on(page: Page, app_url: str, fake: FakeOpenAIServer) -> None:
    open_app(page, app_url, "tools")
    by_key(page, ToolKeys.ADD_TEMPLATE).get_by_role("button").click()
    wait_for_app_idle(page, expect=page.get_by_text("Tools (1 defined)"))
    prompt = by_key(page, LoopKeys.PROMPT).locator("textarea")
    prompt.fill("Weather in Paris and Tokyo?")
    prompt.press("Control+Enter")
    wait_for_app_idle(page)

    slow = Scenario(text="It is raining in both cities, take an umbrella. " * 8, chunks=40, chunk_delay=0.25)
    fake.enqueue(PARALLEL_CALLS, slow)
    by_key(page, LoopKeys.RUN).get_by_role("button").click()
    expect(page.get_by_text("Step in progress", exact=False)).to_be_visible(timeout=15_000)
    by_key(page, LoopKeys.STOP).get_by_role("button").click()
    timeline = by_key(page, LoopKeys.TIMELINE)
    wait_for_app_idle(page, expect=timeline.get_by_text("Stopped.", exact=False))
    expect(timeline.locator("code", has_text="call_tokyo")).to_be_visible()  # step 1 and its answers are kept
    expect(timeline.get_by_text("Final answer", exact=True)).to_have_count(0)

    fake.enqueue(Scenario(echo_tool_results=True))
    by_key(page, LoopKeys.CONTINUE).get_by_role("button").click()
    wait_for_app_idle(page, expect=timeline.get_by_text("Final answer", exact=True))
    expect(timeline.locator("[data-testid=stAlertContentSuccess]", has_text="Tool results:")).to_be_visible()
    assert len(fake.chat_requests()) == 3  # step 1 was not sent again
