"""The live meter in a real browser: it counts what the next request will carry, then the message
once it is sent, the reply and its cost.

``st.chat_input`` does not report keystrokes, and nothing is counted that will not be sent: the
message joins the count when it is sent.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from components.meter import MeterKeys
from playground.tokens import TokenCounter
from tests.e2e.helpers import CHAT_INPUT, by_key, chat_messages, open_app, wait_for_app_idle
from tests.fakes.server import FakeOpenAIServer

CAPTION = "[data-testid=stCaptionContainer]"
PRIMING = 3  # reply priming (registry token rules); a message adds 3 + its role's token


def message_tokens(text: str) -> int:
    return 3 + 1 + TokenCounter().count(text)


def context_line(tokens: int) -> str:
    return f"Context: {tokens:,} + 32,768 reserved of 1,047,576"


def test_meter_counts_the_message_when_sent_and_the_reply(page: Page, app_url: str, fake: FakeOpenAIServer) -> None:
    open_app(page, app_url)
    meter = by_key(page, MeterKeys.LIVE)
    expect(meter).to_contain_text(context_line(PRIMING))
    expect(meter).to_contain_text("Session cost: $0")

    draft = "How many tokens does this message take on the meter?"
    box = page.locator(CHAT_INPUT)
    box.click()
    box.press_sequentially(draft, delay=10)
    page.wait_for_timeout(500)
    expect(meter).to_contain_text(context_line(PRIMING))  # typing sends nothing, so it counts nothing

    box.press("Enter")
    assistant = chat_messages(page, "assistant")
    wait_for_app_idle(page, expect=assistant.locator(CAPTION, has_text="finish: stop"))
    expect(assistant.first).to_contain_text(f"Echo: {draft}")
    expect(box).to_have_value("")

    after_reply = PRIMING + message_tokens(draft) + message_tokens(f"Echo: {draft}")
    expect(meter).to_contain_text(context_line(after_reply))
    expect(page.locator(CAPTION, has_text="Next request:")).to_contain_text(f"≈{after_reply:,} tokens")
    expect(meter.get_by_text(re.compile(r"Session cost: \$0\.0000\d+"))).to_be_visible()
    (request,) = fake.chat_requests()
    assert request.json["messages"] == [{"role": "user", "content": draft}]
