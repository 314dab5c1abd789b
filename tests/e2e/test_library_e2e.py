"""Session files in a real browser: export a conversation from the Prompt library page, import it
in a fresh browser context (a new Streamlit session) and find the identical conversation; a bad
file is refused with the session untouched. The app's database is a throwaway file (conftest)."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page, expect

from components.library import LibraryKeys
from tests.e2e.conftest import VIEWPORT
from tests.e2e.helpers import by_key, chat_messages, open_app, send_chat_message, wait_for_app_idle
from tests.fakes.server import FakeOpenAIServer

MARKDOWN = "[data-testid=stMarkdownContainer]"
CAPTION = "[data-testid=stCaptionContainer]"
ALERT = "[data-testid=stAlert]"


def go_to(page: Page, title: str) -> None:
    page.get_by_role("link", name=title, exact=True).click()
    wait_for_app_idle(page, expect=page.get_by_role("heading", name=title) if title != "Chat" else None)


def conversation(page: Page) -> list[str]:
    messages = chat_messages(page)
    return [messages.nth(i).locator(MARKDOWN).first.inner_text().strip() for i in range(messages.count())]


def import_file(page: Page, path: Path) -> None:
    by_key(page, LibraryKeys.IMPORT_FILE).locator("input[type=file]").set_input_files(str(path))
    wait_for_app_idle(page)
    by_key(page, LibraryKeys.IMPORT).get_by_role("button").click()
    wait_for_app_idle(page, expect=page.locator(ALERT).first)


def test_export_import_in_a_fresh_context_and_a_bad_file_refused(
    page: Page, app_url: str, fake: FakeOpenAIServer, browser, tmp_path: Path
) -> None:
    open_app(page, app_url)
    for text in ("First question", "Second question"):
        send_chat_message(page, text)
        wait_for_app_idle(
            page,
            expect=chat_messages(page, "assistant")
            .locator(CAPTION, has_text="finish: stop")
            .nth(1 if text.startswith("Second") else 0),
        )
    original = conversation(page)
    assert original == ["First question", "Echo: First question", "Second question", "Echo: Second question"]

    go_to(page, "Prompt library")
    with page.expect_download() as download_info:
        by_key(page, LibraryKeys.EXPORT_SESSION).get_by_role("button").click()
    exported = tmp_path / "session.json"
    download_info.value.save_as(exported)
    data = json.loads(exported.read_text())
    assert data["format"] == "gpt41mini-playground/session"
    assert "test-key" not in exported.read_text()

    context = browser.new_context(viewport=VIEWPORT)
    try:
        fresh = context.new_page()
        open_app(fresh, app_url, "library")
        import_file(fresh, exported)
        expect(fresh.locator(ALERT).first).to_contain_text("it is open in this browser session now")
        go_to(fresh, "Chat")
        assert conversation(fresh) == original

        bad = tmp_path / "bad.json"
        bad.write_text(exported.read_text()[:200])
        go_to(fresh, "Prompt library")
        import_file(fresh, bad)
        expect(fresh.locator(ALERT).first).to_contain_text("bad.json was not imported")
        expect(fresh.locator(ALERT).first).to_contain_text("cut off")
        go_to(fresh, "Chat")
        assert conversation(fresh) == original
    finally:
        context.close()
