"""The live meter and the Cost & context panel in a real browser.

The sidebar gauge shows the prompt and the reserved reply apart; costs read per reply and per
1,000 replies. ``st.chat_input`` does not report keystrokes, and nothing is counted that will not be
sent: the message joins the count when it is sent.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from components.meter import MeterKeys
from playground.tokens import TokenCounter
from tests.e2e.helpers import CHAT_INPUT, by_key, chat_messages, open_app, send_chat_message, wait_for_app_idle
from tests.fakes.server import FakeOpenAIServer

CAPTION = "[data-testid=stCaptionContainer]"
PRIMING = 3  # reply priming (registry token rules); a message adds 3 + its role's token
RESERVED = "Reply reserved: 32,768 (3.1%)"  # gpt-4.1-mini's max output, of its 1,047,576-token window


def message_tokens(text: str) -> int:
    return 3 + 1 + TokenCounter().count(text)


def prompt_line(tokens: int) -> str:
    return f"Prompt: {tokens:,} tokens (<0.1% of the window)"


def test_meter_counts_the_message_when_sent_and_the_reply(page: Page, app_url: str, fake: FakeOpenAIServer) -> None:
    open_app(page, app_url)
    meter = by_key(page, MeterKeys.LIVE)
    expect(meter).to_contain_text(prompt_line(PRIMING))
    expect(meter).to_contain_text(RESERVED)
    expect(meter).not_to_contain_text("3% of the window")  # nothing typed: the reserve is not the prompt
    expect(meter).to_contain_text("Session cost: $0")

    draft = "How many tokens does this message take on the meter?"
    box = page.locator(CHAT_INPUT)
    box.click()
    box.press_sequentially(draft, delay=10)
    page.wait_for_timeout(500)
    expect(meter).to_contain_text(prompt_line(PRIMING))  # typing sends nothing, so it counts nothing

    box.press("Enter")
    assistant = chat_messages(page, "assistant")
    wait_for_app_idle(page, expect=assistant.locator(CAPTION, has_text="finish: stop"))
    expect(assistant.first).to_contain_text(f"Echo: {draft}")
    expect(box).to_have_value("")

    after_reply = PRIMING + message_tokens(draft) + message_tokens(f"Echo: {draft}")
    expect(meter).to_contain_text(prompt_line(after_reply))
    expect(page.locator(CAPTION, has_text="Next request:")).to_contain_text(f"≈{after_reply:,} tokens")
    expect(meter.get_by_text(re.compile(r"Session cost: \$0\.0000\d\d?$"))).to_be_visible()
    (request,) = fake.chat_requests()
    assert request.json["messages"] == [{"role": "user", "content": draft}]


def test_the_panel_reads_costs_per_reply_and_per_thousand(page: Page, app_url: str, fake: FakeOpenAIServer) -> None:
    open_app(page, app_url)
    send_chat_message(page, "What does a reply like this cost?")
    wait_for_app_idle(page, expect=chat_messages(page, "assistant").locator(CAPTION, has_text="finish: stop"))
    meter = by_key(page, MeterKeys.LIVE)
    expect(meter).to_contain_text(re.compile(r"Next reply: \$0\.\d+ per reply \(\$\d+\.\d\d per 1,000 replies\)"))

    page.get_by_role("link", name="Cost & context").click()
    main = page.locator("[data-testid=stMain]")
    wait_for_app_idle(page, expect=main.get_by_text("Accuracy of our prompt estimates"))
    for label in (
        "Next prompt",
        "Reserved for the reply",
        "Prompt share of the window",
        "Per reply",
        "Per 1,000 replies",
    ):
        expect(
            main.get_by_test_id("stMetricLabel").filter(has_text=re.compile(f"^{re.escape(label)}$"))
        ).to_be_visible()
    per_thousand = main.get_by_test_id("stMetric").filter(has_text=re.compile(r"^Per 1,000 replies"))
    expect(per_thousand.get_by_test_id("stMetricValue")).to_have_text(
        re.compile(r"^\$\d+\.\d\d$")
    )  # cents, not $0.000…
