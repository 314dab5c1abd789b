"""The Functions panel in a real browser: add a tool, the model calls it, answer it, see the reply."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from components.tools_view import ToolKeys
from tests.e2e.helpers import by_key, chat_messages, open_app, send_chat_message, wait_for_app_idle
from tests.fakes.server import FakeOpenAIServer, Scenario

MARKDOWN = "[data-testid=stMarkdownContainer]"


def test_tool_call_round_trip(page: Page, app_url: str, fake: FakeOpenAIServer) -> None:
    open_app(page, app_url, "tools")
    by_key(page, ToolKeys.ADD_TEMPLATE).get_by_role("button").click()  # the first template: get_weather
    wait_for_app_idle(page, expect=page.get_by_text("Tools (1 defined)"))

    fake.enqueue(Scenario(tool_calls=[{"name": "get_weather", "arguments": '{"city": "Paris", "unit": null}'}]))
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
