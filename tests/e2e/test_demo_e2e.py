"""The demo in a real browser: a three-turn chat recorded against the fake server, saved, and replayed
in the presentation view while the fake server refuses every request (nothing reaches it): each reply
carries the replay mark, no settings or keys are on screen. Its share link opens in a fresh browser
context read-only and replays there; a changed link is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from components.demo import DemoKeys
from components.presenting import PRESENT_KEY
from tests.e2e.conftest import VIEWPORT, AppProcess
from tests.e2e.helpers import (
    IDLE,
    by_key,
    chat_messages,
    install_run_tracker,
    open_app,
    send_chat_message,
    wait_for_app_idle,
)
from tests.fakes.server import FakeOpenAIServer, Scenario

CAPTION = "[data-testid=stCaptionContainer]"
TURNS = ("First question", "Second question", "Third question")
REPLAY = "played from the recording, not from the model"


@pytest.fixture
def demo_app(fake_server: FakeOpenAIServer, tmp_path: Path) -> Iterator[AppProcess]:
    """An app of this test's own, with a share-link secret and a presentation title."""
    app = AppProcess(fake_server, tmp_path)
    app.env["PLAYGROUND_SHARE_SECRET"] = "e2e-share-secret-" + "x" * 32
    app.env["PLAYGROUND_PRESENTATION_TITLE"] = "Acme support bot"
    try:
        yield app.start()
    finally:
        app.stop()


def click(page: Page, key: str, **wait) -> None:
    by_key(page, key).get_by_role("button").click()
    wait_for_app_idle(page, **wait)


def open_link(page: Page, url: str, *, expect) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector(IDLE, state="attached")
    wait_for_app_idle(page, expect=expect, rerun_grace_ms=0)


def no_settings_on_screen(page: Page) -> None:
    expect(page.locator("input[type=password]")).to_have_count(0)
    expect(page.get_by_text("Connection", exact=True)).not_to_be_visible()
    expect(page.locator("[data-testid=stChatInputTextArea]")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    expect(page.locator(CAPTION, has_text="tok/s")).to_have_count(0)  # no stats lines
    expect(page.get_by_role("button", name="Share")).to_have_count(0)


def test_replay_in_presentation_with_the_fake_server_refusing_and_a_read_only_share_link(
    page: Page, demo_app: AppProcess, fake: FakeOpenAIServer, browser
) -> None:
    open_app(page, demo_app.url)
    for index, text in enumerate(TURNS):
        send_chat_message(page, text)
        wait_for_app_idle(
            page, expect=chat_messages(page, "assistant").nth(index).locator(CAPTION, has_text="finish: stop")
        )
    page.get_by_role("link", name="Demo", exact=True).click()
    wait_for_app_idle(page, expect=page.get_by_role("heading", name="Demo"))
    by_key(page, DemoKeys.RECORD_TITLE).locator("input").fill("Support demo")
    click(page, DemoKeys.RECORD, expect=page.get_by_text("Saved the chat as the session Support demo"))
    click(page, DemoKeys.LOAD, expect=page.get_by_text("3 turn(s) to play"))
    click(page, DemoKeys.SHARE, expect=page.get_by_text("Made a read-only link to Support demo"))
    link = page.locator("[data-testid=stCode]").last.inner_text().strip()
    assert "/demo?share=" in link

    # The venue's network is gone: every request the fake server gets is refused.
    fake.enqueue(Scenario(fault="server_error", should_retry=False, repeat=100))
    requests = len(fake.chat_requests())
    by_key(page, PRESENT_KEY).get_by_text("Presentation view").click()
    wait_for_app_idle(page, expect=page.get_by_role("heading", name="Acme support bot"))
    assert "present=1" in page.url
    for index, text in enumerate(TURNS):
        click(page, DemoKeys.NEXT, expect=chat_messages(page, "assistant").nth(index).get_by_text(f"Echo: {text}"))
        expect(chat_messages(page, "assistant").nth(index).get_by_text(REPLAY)).to_be_visible()
    expect(chat_messages(page, "assistant")).to_have_count(3)
    expect(page.get_by_text(REPLAY)).to_have_count(3)
    no_settings_on_screen(page)
    expect(page.get_by_test_id("stSidebar")).not_to_be_in_viewport()  # collapsed
    assert len(fake.chat_requests()) == requests  # nothing was sent

    context = browser.new_context(viewport=VIEWPORT)
    try:
        viewer = context.new_page()
        install_run_tracker(viewer)
        open_link(viewer, link, expect=viewer.get_by_role("heading", name="Acme support bot"))
        expect(chat_messages(viewer, "assistant")).to_have_count(3)
        no_settings_on_screen(viewer)
        expect(viewer.get_by_text("Presentation view")).to_have_count(0)
        expect(viewer.get_by_role("link", name="Chat")).to_have_count(0)  # no navigation to the rest of the app
        click(viewer, DemoKeys.RESTART)
        expect(chat_messages(viewer, "assistant")).to_have_count(0)
        click(
            viewer, DemoKeys.NEXT, expect=chat_messages(viewer, "assistant").first.get_by_text("Echo: First question")
        )
        expect(chat_messages(viewer, "assistant").first.get_by_text(REPLAY)).to_be_visible()
        assert len(fake.chat_requests()) == requests

        changed = link[:-1] + ("B" if link[-1] == "A" else "A")
        open_link(viewer, changed, expect=viewer.get_by_text("This link is not valid here"))
        expect(chat_messages(viewer)).to_have_count(0)
    finally:
        context.close()
