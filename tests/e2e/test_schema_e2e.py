"""The Schema builder in a real browser: build a two-field schema with the form, run it against the
fake server and see the pass badge; then a reply that breaks the schema and the fail badge, with the
field named.

The app runs as in production (``streamlit run serve.py``) against the loopback fake OpenAI server;
see ``conftest.py`` for the fixtures and ``helpers.py`` for the waiting strategy.
"""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect

from components.schema_builder import SchemaKeys
from tests.e2e.helpers import by_key, key_class, open_app, wait_for_app_idle
from tests.fakes.server import FakeOpenAIServer, Scenario

ALERT = "[data-testid=stAlert]"
CODE = "[data-testid=stCode]"
EXPANDER = "[data-testid=stExpander]"
BADGE = "span.stMarkdownBadge"


def open_schema_page(page: Page, app_url: str) -> None:
    """Open the app, then the Schema builder page from the sidebar, as a user does."""
    open_app(page, app_url)
    page.locator("[data-testid=stSidebarNav] a", has_text="Schema builder").click()
    wait_for_app_idle(page, expect=by_key(page, SchemaKeys.ADD))


def add_field(page: Page, name: str, type_: str) -> None:
    """Fill the "Add a field" form (name and type) and press Add field."""
    by_key(page, SchemaKeys.add("name")).locator("input").fill(name)
    if type_ != "string":  # the form's default
        select = by_key(page, SchemaKeys.add("type"))
        select.evaluate("element => element.scrollIntoView({block: 'center'})")  # room for its options
        select.locator("input").click()
        page.get_by_role("option", name=type_, exact=True).click()
        wait_for_app_idle(page)
    by_key(page, SchemaKeys.ADD).get_by_role("button").click()
    wait_for_app_idle(page, expect=page.locator(EXPANDER, has_text=f"{name} · {type_}"))


def verdict(page: Page, label: str):
    """The pass/fail badge of the last run with exactly this label (after its icon)."""
    badge = by_key(page, SchemaKeys.VERDICT).locator(BADGE)
    return badge.filter(has_text=re.compile(rf"(^|\s){label}$"))


def run_and_wait(page: Page, label: str) -> None:
    by_key(page, SchemaKeys.RUN).get_by_role("button").click()
    wait_for_app_idle(page, expect=verdict(page, label))


def test_build_two_fields_run_pass_then_fail_with_the_field_named(
    page: Page, app_url: str, fake: FakeOpenAIServer
) -> None:
    open_schema_page(page, app_url)
    add_field(page, "title", "string")
    add_field(page, "score", "integer")
    raw = by_key(page, SchemaKeys.RAW).locator("textarea")
    expect(raw).to_have_value(
        json.dumps(
            {
                "type": "object",
                "properties": {"title": {"type": "string"}, "score": {"type": "integer"}},
                "required": ["title", "score"],
                "additionalProperties": False,
            },
            indent=2,
        )
    )
    expect(page.get_by_text("No strict-mode problems", exact=False)).to_be_visible()

    by_key(page, SchemaKeys.TEST_INPUT).locator("textarea").fill("Rate the film Heat (1995).")
    fake.enqueue(Scenario(text='{"title": "Heat", "score": 9}'))
    run_and_wait(page, "Valid")
    expect(verdict(page, "Invalid")).to_have_count(0)
    body = fake.chat_requests()[-1].json
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    assert list(body["response_format"]["json_schema"]["schema"]["properties"]) == ["title", "score"]
    assert body["messages"][-1] == {"role": "user", "content": "Rate the film Heat (1995)."}

    fake.enqueue(Scenario(text='{"title": "Heat", "score": "nine"}'))
    run_and_wait(page, "Invalid")
    expect(verdict(page, "Valid")).to_have_count(0)
    problems = page.locator(CODE, has_text="$.score  (score)")
    expect(problems).to_contain_text('Expected integer, got a string ("nine").')
    assert len(fake.chat_requests()) == 2


def test_builder_and_raw_json_stay_in_sync_in_the_browser(page: Page, app_url: str) -> None:
    open_schema_page(page, app_url)
    add_field(page, "title", "string")
    expect(by_key(page, SchemaKeys.add("name")).locator("input")).to_have_value("")  # the form was cleared

    description = by_key(page, SchemaKeys.field(("title",), "description")).locator("input")
    description.fill("The headline")
    description.press("Enter")
    raw = by_key(page, SchemaKeys.RAW).locator("textarea")
    wait_for_app_idle(page, expect=page.locator(f".{key_class(SchemaKeys.RAW)} textarea", has_text="The headline"))
    assert json.loads(raw.input_value())["properties"]["title"] == {"type": "string", "description": "The headline"}

    edited = json.loads(raw.input_value())
    edited["properties"]["title"]["description"] = "Edited as JSON"
    raw.fill(json.dumps(edited))
    by_key(page, SchemaKeys.APPLY_RAW).get_by_role("button").click()
    wait_for_app_idle(page)
    expect(description).to_have_value("Edited as JSON")  # the builder's input shows the applied JSON

    raw.fill('{"type": "object", "properties": {')
    by_key(page, SchemaKeys.APPLY_RAW).get_by_role("button").click()
    wait_for_app_idle(page, expect=page.locator(ALERT, has_text="line 1, column"))
    expect(raw).to_have_value('{"type": "object", "properties": {')  # the user's text is kept
    expect(description).to_have_value("Edited as JSON")  # and so is the schema


def test_stop_keeps_the_partial_reply_and_checks_it(page: Page, app_url: str, fake: FakeOpenAIServer) -> None:
    open_schema_page(page, app_url)
    add_field(page, "story", "string")
    by_key(page, SchemaKeys.TEST_INPUT).locator("textarea").fill("Tell a long story.")
    words = " ".join(f"w{number:03d}" for number in range(1, 201))
    fake.enqueue(Scenario(text=json.dumps({"story": words}), chunk_delay=0.05))  # ~10 s in all
    by_key(page, SchemaKeys.RUN).get_by_role("button").click()
    stop = by_key(page, SchemaKeys.STOP).get_by_role("button")
    expect(page.locator(CODE, has_text="w010")).to_be_visible(timeout=15_000)  # streaming, drawn as it comes
    stop.click()
    wait_for_app_idle(page, expect=verdict(page, "Invalid"))
    expect(page.get_by_text("Stopped: partial reply, incomplete.")).to_be_visible()
    expect(page.locator(ALERT, has_text="JSON is truncated")).to_be_visible()
    expect(stop).to_have_count(0)


def test_a_field_name_from_a_pasted_schema_puts_no_image_or_link_in_the_page(page: Page, app_url: str) -> None:
    evil = "http://evil.example"
    name = f"x` ![img]({evil}/i.png) [link]({evil}) {evil}/bare www.evil.example me@evil.example `"
    open_schema_page(page, app_url)
    by_key(page, SchemaKeys.RAW).locator("textarea").fill(json.dumps({"type": "object", "properties": {name: {}}}))
    by_key(page, SchemaKeys.APPLY_RAW).get_by_role("button").click()
    wait_for_app_idle(page, expect=page.locator(EXPANDER, has_text="![img]("))
    assert page.locator("img[src*='evil.example']").count() == 0
    assert page.locator("a[href*='evil.example']").count() == 0
