"""Helpers for driving the Streamlit app in Chromium (Playwright sync API).

Waiting for Streamlit
---------------------
The root element ``[data-testid=stApp]`` carries ``data-test-script-state``: ``initial`` before
the first run, then ``running`` / ``notRunning`` (and ``rerunRequested`` / ``stopRequested``).
Two traps make a bare "wait for notRunning" flaky:

- right after an interaction (a click, Enter in the chat input) the state still reads
  ``notRunning`` until the server answers that the rerun started;
- ``st.rerun()`` and fast reruns (a click while a script runs) stop one run and start the next:
  the state reads ``notRunning`` for a moment in between.

So :func:`install_run_tracker` (done for every page by the ``page`` fixture) counts script runs
with a MutationObserver and notes when the state last changed, and :func:`wait_for_app_idle`
waits for (1) a run to have started since the previous wait (or a short grace period, for
interactions that do not rerun), then (2) ``notRunning`` held steady for ``quiet_ms``. Pass
``expect=<locator>`` to also wait for an element the interaction must produce: the most reliable
signal of all.
"""

from __future__ import annotations

import contextlib
import re

from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect as pw_expect

APP = "[data-testid=stApp]"
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
CHAT_INPUT = "[data-testid=stChatInputTextArea]"

# Runs in every document before the app's own scripts (context.add_init_script) or, lazily, on demand.
_RUN_TRACKER_JS = """
(() => {
  if (window.__stRunTracker) return;
  const tracker = { runs: 0, seen: 0, lastChange: performance.now(), states: [] };
  window.__stRunTracker = tracker;
  const observer = new MutationObserver((mutations) => {
    for (const m of mutations) {
      const value = m.target.getAttribute("data-test-script-state");
      if (value === m.oldValue) continue;
      tracker.lastChange = performance.now();
      tracker.states.push(value);
      if (tracker.states.length > 50) tracker.states.shift();
      if (value === "running") tracker.runs += 1;
    }
  });
  observer.observe(document, {
    subtree: true,
    attributes: true,
    attributeOldValue: true,
    attributeFilter: ["data-test-script-state"],
  });
})();
"""

_RUN_STARTED_JS = """
() => {
  const t = window.__stRunTracker;
  const app = document.querySelector('[data-testid=stApp]');
  const state = app ? app.getAttribute('data-test-script-state') : null;
  return t.runs > t.seen || (state !== null && state !== 'notRunning');
}
"""

_IDLE_JS = """
(quietMs) => {
  const t = window.__stRunTracker;
  const app = document.querySelector('[data-testid=stApp]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  return performance.now() - t.lastChange >= quietMs;
}
"""


def install_run_tracker(page: Page) -> None:
    """Register the run tracker for every document this page loads (call before ``goto``)."""
    page.add_init_script(_RUN_TRACKER_JS)


def _ensure_tracker(page: Page) -> None:
    page.evaluate(_RUN_TRACKER_JS)  # a no-op when the init script already installed it


def wait_for_app_idle(
    page: Page,
    timeout: float = 30_000,
    *,
    expect: Locator | None = None,
    quiet_ms: float = 300,
    rerun_grace_ms: float = 1_000,
) -> None:
    """Wait until the script run(s) caused by the last interaction are over.

    ``timeout`` (ms) bounds each stage. ``expect``: a locator that must become visible first.
    ``rerun_grace_ms``: how long to wait for a run to start when none has since the previous
    call (an interaction that does not rerun costs this much; 0 skips this stage). ``quiet_ms``: how long
    ``notRunning`` must hold, which rides over the gap between a stopped run and its rerun.
    """
    _ensure_tracker(page)
    if expect is not None:
        pw_expect(expect).to_be_visible(timeout=timeout)
    if rerun_grace_ms > 0:  # (a Playwright timeout of 0 would mean "wait forever")
        # A timeout here means nothing reran: fine, the idle check below still applies.
        with contextlib.suppress(PlaywrightTimeoutError):
            page.wait_for_function(_RUN_STARTED_JS, timeout=rerun_grace_ms, polling=25)
    page.wait_for_function(_IDLE_JS, arg=quiet_ms, timeout=timeout, polling=50)
    page.evaluate("() => { window.__stRunTracker.seen = window.__stRunTracker.runs; }")


def open_app(page: Page, app_url: str, path: str = "", *, timeout: float = 30_000):
    """Navigate to ``app_url``/``path`` and wait for the first script run to finish.

    Returns the main document's Playwright ``Response`` (headers, status).
    """
    url = app_url.rstrip("/") + "/" + path.lstrip("/")
    response = page.goto(url, wait_until="domcontentloaded", timeout=timeout)
    # The state reads "initial" until the first run starts, so notRunning means a finished run.
    page.wait_for_selector(IDLE, state="attached", timeout=timeout)
    wait_for_app_idle(page, timeout=timeout, rerun_grace_ms=0)
    return response


def chat_messages(page: Page, role: str | None = None) -> Locator:
    """The content of chat messages (``st.chat_message``), optionally only those of ``role``."""
    if role is None:
        return page.locator("[data-testid=stChatMessageContent]")
    return page.get_by_role("group", name=f"Chat message from {role}", exact=True)


def send_chat_message(page: Page, text: str, *, timeout: float = 10_000) -> None:
    """Type ``text`` into the chat input and press Enter (does not wait for the reply)."""
    box = page.locator(CHAT_INPUT)
    pw_expect(box).to_be_enabled(timeout=timeout)
    box.fill(text)
    box.press("Enter")


def key_class(key: str) -> str:
    """The CSS class Streamlit puts on the wrapper of a widget with ``key`` (``st-key-...``)."""
    return "st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", key.strip())


def by_key(scope: Page | Locator, key: str) -> Locator:
    """The element container of the widget with exactly this ``key`` (see ``components.state.Keys``)."""
    return scope.locator(f".{key_class(key)}")


def by_key_prefix(scope: Page | Locator, prefix: str) -> Locator:
    """Containers of widgets whose key starts with ``prefix``, e.g. ``"chat.retry."`` (per-message keys)."""
    return scope.locator(f"[class*='{key_class(prefix)}']")
