"""Sessions in Chromium: the work survives a reload, a server restart, a message typed into the
tab of a restarted server, and a server killed while a reply streams (it reopens interrupted, with
Retry). Each test runs its own app process on a throwaway database (``own_app``)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.helpers import CHAT_INPUT, chat_messages, open_app, send_chat_message, wait_for_app_idle
from tests.fakes.server import FakeOpenAIServer, Scenario

CAPTION = "[data-testid=stCaptionContainer]"
MARKDOWN = "[data-testid=stMarkdownContainer]"
SESSION_URL = re.compile(r"[?&]session=[\w-]{16,}")


def _send_and_wait(page: Page, text: str) -> None:
    send_chat_message(page, text)
    done = chat_messages(page, "assistant").last.locator(CAPTION, has_text="finish: stop")
    wait_for_app_idle(page, expect=chat_messages(page, "user").filter(has_text=text))
    wait_for_app_idle(page, expect=done)


def _session_path(page: Page) -> str:
    """The ``?session=<id>`` part of the page's URL (once the session is saved)."""
    expect(page).to_have_url(SESSION_URL)
    match = SESSION_URL.search(page.url)
    assert match is not None
    return "?" + match.group(0)[1:]


def test_reload_and_server_restart_keep_the_conversation(page: Page, own_app, fake: FakeOpenAIServer) -> None:
    open_app(page, own_app.url)
    _send_and_wait(page, "Remember the number 42")
    path = _session_path(page)
    url = page.url

    page.reload()
    wait_for_app_idle(page, expect=chat_messages(page, "assistant").filter(has_text="Echo: Remember the number 42"))
    expect(chat_messages(page, "user")).to_have_count(1)
    assert page.url == url

    own_app.restart()
    open_app(page, own_app.url, path)  # a fresh load after the restart
    expect(chat_messages(page, "user").locator(MARKDOWN).first).to_have_text("Remember the number 42")
    expect(chat_messages(page, "user")).to_have_count(1)
    expect(chat_messages(page, "assistant")).to_have_count(1)
    expect(chat_messages(page, "assistant").locator(CAPTION, has_text="finish: stop")).to_be_visible()


def test_a_message_typed_into_the_open_tab_after_a_restart_joins_the_reopened_session(
    page: Page, own_app, fake: FakeOpenAIServer
) -> None:
    open_app(page, own_app.url)
    _send_and_wait(page, "Before the restart")
    _session_path(page)

    own_app.restart()
    page.wait_for_timeout(3_000)  # the tab reconnects on its own, still showing the conversation
    _send_and_wait(page, "Typed after the restart")
    expect(chat_messages(page, "user")).to_have_count(2)
    expect(chat_messages(page, "user").first).to_contain_text("Before the restart")
    expect(chat_messages(page, "user").last).to_contain_text("Typed after the restart")
    expect(page.locator(CHAT_INPUT)).to_have_value("")
    last = fake.chat_requests()[-1].json["messages"]
    assert [message["content"] for message in last] == [
        "Before the restart",
        "Echo: Before the restart",
        "Typed after the restart",
    ]


def test_a_reply_streaming_when_the_server_is_killed_reopens_interrupted_with_retry(
    page: Page, own_app, fake: FakeOpenAIServer
) -> None:
    open_app(page, own_app.url)
    words = " ".join(f"word{n:03d}" for n in range(400))
    fake.enqueue(Scenario(text=words, chunk_delay=0.05))
    send_chat_message(page, "A long answer please")
    assistant = chat_messages(page, "assistant")
    expect(assistant.last).to_contain_text("word040", timeout=20_000)
    path = _session_path(page)  # the once-a-second save during the stream named the session
    page.wait_for_timeout(1_500)  # at least one save with text in it
    own_app.kill()
    own_app.start()

    open_app(page, own_app.url, path)
    reply = chat_messages(page, "assistant").last
    expect(reply).to_contain_text("Interrupted")
    expect(reply).to_contain_text("word010")
    expect(reply).not_to_contain_text("word399")
    reply.get_by_role("button", name="Retry").click()
    wait_for_app_idle(page, expect=chat_messages(page, "assistant").last.locator(CAPTION, has_text="finish: stop"))
    expect(chat_messages(page, "assistant")).to_have_count(1)
    expect(chat_messages(page, "assistant").last).to_contain_text("Echo: A long answer please")
