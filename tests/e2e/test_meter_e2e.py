"""The live meter in a real browser: it follows a message as it is typed, then the reply and its cost.

The sidebar meter counts the chat page's "Compose" box (a ``live`` text input: it commits after a
short typing pause, which reruns the app) as the draft of the next request.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from components.meter import MeterKeys
from playground.tokens import TokenCounter
from tests.e2e.helpers import by_key, chat_messages, open_app, wait_for_app_idle
from tests.fakes.server import FakeOpenAIServer

CAPTION = "[data-testid=stCaptionContainer]"
PRIMING = 3  # reply priming (registry token rules); a message adds 3 + its role's token


def message_tokens(text: str) -> int:
    return 3 + 1 + TokenCounter().count(text)


def context_line(tokens: int) -> str:
    return f"Context: {tokens:,} + 32,768 reserved of 1,047,576"


def test_meter_follows_the_draft_as_it_is_typed_and_the_reply(page: Page, app_url: str, fake: FakeOpenAIServer) -> None:
    open_app(page, app_url)
    meter = by_key(page, MeterKeys.LIVE)
    expect(meter).to_contain_text(context_line(PRIMING))
    expect(meter).to_contain_text("Session cost: $0")

    draft = "How many tokens does this draft take on the meter?"
    box = by_key(page, MeterKeys.DRAFT).locator("input")
    box.click()
    box.press_sequentially(draft[:20], delay=30)
    wait_for_app_idle(page, expect=meter.get_by_text("Includes your draft"))
    partial = message_tokens(draft[:20])
    expect(meter).to_contain_text(f"Includes your draft: {partial:,} tokens")
    expect(meter).to_contain_text(context_line(PRIMING + partial))

    box.press_sequentially(draft[20:], delay=30)  # typing on: the meter follows
    expect(meter).to_contain_text(f"Includes your draft: {message_tokens(draft):,} tokens")
    expect(meter).to_contain_text(context_line(PRIMING + message_tokens(draft)))
    wait_for_app_idle(page)

    by_key(page, MeterKeys.SEND_DRAFT).get_by_role("button").click()
    assistant = chat_messages(page, "assistant")
    wait_for_app_idle(page, expect=assistant.locator(CAPTION, has_text="finish: stop"))
    expect(assistant.first).to_contain_text(f"Echo: {draft}")
    expect(box).to_have_value("")

    after_reply = PRIMING + message_tokens(draft) + message_tokens(f"Echo: {draft}")
    expect(meter).to_contain_text(context_line(after_reply))
    expect(meter).not_to_contain_text("Includes your draft")
    expect(meter.get_by_text(re.compile(r"Session cost: \$0\.0000\d+"))).to_be_visible()
    (request,) = fake.chat_requests()
    assert request.json["messages"] == [{"role": "user", "content": draft}]
