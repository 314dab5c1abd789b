"""The chat panel in a real browser: streaming, Stop, errors mid-stream and before it, and the CSP.

The app runs as in production (``streamlit run serve.py``) against the loopback fake OpenAI server;
see ``conftest.py`` for the fixtures and ``helpers.py`` for the waiting strategy.
"""

from __future__ import annotations

import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page, expect

from components.state import Keys
from tests.e2e.conftest import REPO_ROOT
from tests.e2e.helpers import (
    CHAT_INPUT,
    by_key,
    by_key_prefix,
    chat_messages,
    open_app,
    send_chat_message,
    wait_for_app_idle,
)
from tests.fakes.server import FakeOpenAIServer, Scenario

MARKDOWN = "[data-testid=stMarkdownContainer]"
CAPTION = "[data-testid=stCaptionContainer]"
ALERT = "[data-testid=stAlert]"
STOPPED_CAPTION = "Stopped: partial reply, incomplete."
DROPPED = "The connection dropped while the reply was streaming."

# A 1x1 transparent PNG, served by the leak server (so a load would succeed if it were allowed).
PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def reply_text(message) -> str:
    """The Markdown text of a chat message (its first Markdown block)."""
    return message.locator(MARKDOWN).first.inner_text().strip()


def test_message_streams_a_reply_with_stats(page: Page, app_url: str, fake: FakeOpenAIServer) -> None:
    prompt = "Hello from the browser test"
    open_app(page, app_url)

    send_chat_message(page, prompt)
    assistant = chat_messages(page, "assistant")
    wait_for_app_idle(page, expect=assistant.locator(CAPTION, has_text="finish: stop"))

    expect(chat_messages(page, "user")).to_have_count(1)
    expect(chat_messages(page, "user").first.locator(MARKDOWN).first).to_have_text(prompt)
    expect(assistant).to_have_count(1)
    expect(assistant.first.locator(MARKDOWN).first).to_have_text(f"Echo: {prompt}")
    expect(assistant.first.locator(CAPTION, has_text="finish: stop")).to_be_visible()

    requests = fake.chat_requests()
    assert len(requests) == 1
    body = requests[0].json
    assert body["messages"][-1] == {"role": "user", "content": prompt}
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["store"] is False
    assert requests[0].headers.get("authorization") == "Bearer test-key"


def test_stop_keeps_the_partial_reply_and_regenerate_resends(page: Page, app_url: str, fake: FakeOpenAIServer) -> None:
    words = [f"w{number:03d}" for number in range(1, 201)]
    full_text = " ".join(words)
    prompt = "Count to two hundred"
    fake.enqueue(Scenario(text=full_text, chunk_delay=0.05))  # one chunk per word: ~10 s in all
    open_app(page, app_url)

    send_chat_message(page, prompt)
    assistant = chat_messages(page, "assistant")
    expect(assistant.last).to_contain_text("w005", timeout=15_000)
    stop = by_key(assistant.last, Keys.STOP).get_by_role("button")
    expect(stop).to_be_visible()
    stop.click()
    wait_for_app_idle(page, expect=assistant.last.locator(CAPTION, has_text=STOPPED_CAPTION))

    expect(assistant).to_have_count(1)
    expect(by_key(page, Keys.STOP)).to_have_count(0)  # the run that drew it is over
    partial = reply_text(assistant.first)
    assert "w005" in partial
    assert full_text.startswith(partial)
    assert len(partial) < len(full_text)
    assert "▌" not in partial
    expect(chat_messages(page, "user").first.locator(MARKDOWN).first).to_have_text(prompt)
    expect(page.locator(CHAT_INPUT)).to_be_enabled()

    # The app closed the HTTP stream (the provider stops generating, and billing): the fake's
    # handler for it has ended. (``_connections``: the fake's open sockets; no public API yet.)
    deadline = time.monotonic() + 3
    while fake._connections and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not fake._connections, "the stream was not closed after Stop"
    time.sleep(1.0)  # nothing may re-send on its own after the stop
    assert len(fake.chat_requests()) == 1

    # A stopped reply is not FAILED: the UI offers Regenerate (Retry is only for errors).
    expect(by_key_prefix(assistant.first, "chat.retry.")).to_have_count(0)
    regenerate = by_key_prefix(assistant.first, "chat.regenerate.").get_by_role("button")
    expect(regenerate).to_be_visible()
    fake.enqueue(Scenario(text=full_text))
    regenerate.click()
    wait_for_app_idle(page, expect=assistant.first.locator(CAPTION, has_text="finish: stop"))

    expect(assistant).to_have_count(1)
    expect(assistant.first.locator(MARKDOWN).first).to_have_text(full_text)
    expect(page.get_by_text(STOPPED_CAPTION)).to_have_count(0)
    requests = fake.chat_requests()
    assert len(requests) == 2
    # The stopped partial reply was dropped: the same user turn is sent again, alone.
    assert requests[1].json["messages"] == [{"role": "user", "content": prompt}]


def test_dropped_stream_keeps_partial_text_and_retry_resends(page: Page, app_url: str, fake: FakeOpenAIServer) -> None:
    words = [f"part{number:02d}" for number in range(1, 31)]
    prompt = "Tell me thirty words"
    fake.enqueue(Scenario(text=" ".join(words), cut_after=10))  # 10 word chunks, then the socket closes
    open_app(page, app_url)

    send_chat_message(page, prompt)
    assistant = chat_messages(page, "assistant")
    error = assistant.last.locator(ALERT, has_text=DROPPED)
    wait_for_app_idle(page, expect=error)

    expect(error).to_contain_text("The partial reply above is kept, marked incomplete.")
    assert reply_text(assistant.first) == " ".join(words[:10])
    expect(chat_messages(page, "user").first.locator(MARKDOWN).first).to_have_text(prompt)
    assert len(fake.chat_requests()) == 1

    retry = by_key_prefix(assistant.first, "chat.retry.").get_by_role("button")
    retry.click()
    wait_for_app_idle(page, expect=assistant.first.locator(CAPTION, has_text="finish: stop"))

    expect(assistant).to_have_count(1)
    expect(assistant.first.locator(MARKDOWN).first).to_have_text(f"Echo: {prompt}")
    expect(page.locator(ALERT, has_text=DROPPED)).to_have_count(0)
    users = chat_messages(page, "user")
    expect(users).to_have_count(1)
    expect(users.first.locator(MARKDOWN).first).to_have_text(prompt)
    requests = fake.chat_requests()
    assert len(requests) == 2
    assert requests[1].json["messages"] == [{"role": "user", "content": prompt}]


@pytest.mark.parametrize(
    ("scenario", "message", "expected_requests"),
    [
        pytest.param(
            Scenario(fault="context_length_exceeded"),
            "The conversation is too long for the model",
            1,  # a 400 is not retried
            id="context_length_exceeded",
        ),
        pytest.param(
            # Out of quota is final: never retried, although it is a 429 (the fake would answer three).
            Scenario(fault="insufficient_quota", repeat=3),
            "You have run out of quota (insufficient_quota)",
            1,
            id="insufficient_quota",
        ),
    ],
)
def test_fault_before_streaming_shows_a_clear_error(
    page: Page,
    app_url: str,
    fake: FakeOpenAIServer,
    scenario: Scenario,
    message: str,
    expected_requests: int,
) -> None:
    prompt = "Please answer this"
    fake.enqueue(scenario)
    open_app(page, app_url)

    send_chat_message(page, prompt)
    assistant = chat_messages(page, "assistant")
    error = assistant.last.locator(ALERT, has_text=message)
    wait_for_app_idle(page, expect=error)

    expect(error).to_contain_text("request id: req_fake_")
    expect(assistant).to_have_count(1)
    expect(assistant.first.locator(CAPTION, has_text="finish:")).to_have_count(0)  # no stats for a failure
    users = chat_messages(page, "user")
    expect(users).to_have_count(1)
    expect(users.first.locator(MARKDOWN).first).to_have_text(prompt)
    expect(page.locator(CHAT_INPUT)).to_be_enabled()
    assert len(fake.chat_requests()) == expected_requests


class _LeakServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _LeakHandler)
        self.hits: list[str] = []


class _LeakHandler(BaseHTTPRequestHandler):
    server: _LeakServer

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PIXEL_PNG)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(PIXEL_PNG)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def leak_server() -> Iterator[_LeakServer]:
    """A loopback HTTP server recording every request: where a leaking image would go."""
    server = _LeakServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_csp_blocks_remote_markdown_images(
    page: Page, app_url: str, fake: FakeOpenAIServer, leak_server: _LeakServer, console_errors: list[str]
) -> None:
    leak_url = f"http://127.0.0.1:{leak_server.server_address[1]}/leak.png"
    with urllib.request.urlopen(leak_url.replace("leak.png", "probe.png"), timeout=5) as response:
        assert response.status == 200  # the leak server works: zero hits below means "blocked"
    assert leak_server.hits == ["/probe.png"]
    leak_server.hits.clear()

    response = open_app(page, app_url)
    assert response is not None
    policy = response.headers.get("content-security-policy", "")
    assert "img-src 'self' data: blob:" in [directive.strip() for directive in policy.split(";")]

    fake.enqueue(Scenario(text=f"Look ![pixel]({leak_url})"))
    send_chat_message(page, "Show me a picture")
    assistant = chat_messages(page, "assistant")
    wait_for_app_idle(page, expect=assistant.locator(CAPTION, has_text="finish: stop"))

    image = assistant.first.locator(f"img[src='{leak_url}']")
    expect(image).to_have_count(1)  # the Markdown image is in the page: only the policy stops it
    expect(assistant.first.locator(MARKDOWN).first).to_contain_text("Look")
    page.wait_for_timeout(1_000)  # give a (wrongly allowed) request time to arrive
    assert leak_server.hits == []
    assert image.evaluate("img => img.naturalWidth") == 0
    assert any("Content Security Policy" in error and "leak.png" in error for error in console_errors), console_errors


# --- the one composer, the reply in place, a long reply's frames, cold starts and restarts ----------
COMPOSER = "[data-testid=stChatInput]"


def _offset_between(upper, lower) -> float:
    """Vertical distance between the tops of two elements, measured in the same frame."""
    return upper.evaluate(
        "(a, b) => b.getBoundingClientRect().top - a.getBoundingClientRect().top", lower.element_handle()
    )


def test_composer_attaches_images_removes_chips_and_the_reply_streams_in_place(
    page: Page, app_url: str, fake: FakeOpenAIServer
) -> None:
    from components.images import ImageKeys
    from tests.fakes.images import one_pixel_png

    open_app(page, app_url)
    page.locator("[data-testid=stSidebarNav] a", has_text="Images").click()
    wait_for_app_idle(page)
    pixel = {"name": "waiting.png", "mimeType": "image/png", "buffer": one_pixel_png()}
    by_key_prefix(page, ImageKeys.UPLOAD_PREFIX).locator("input[type=file]").set_input_files([pixel])
    wait_for_app_idle(page, expect=by_key_prefix(page, ImageKeys.CARD_PREFIX))
    page.locator("[data-testid=stSidebarNav] a", has_text="Chat").click()
    chip = by_key_prefix(page, "images.strip_remove.").get_by_role("button")
    wait_for_app_idle(page, expect=chip)
    expect(chip).to_contain_text("waiting.png")
    expect(page.get_by_text("1 image pending")).to_be_visible()
    expect(page.locator(CAPTION, has_text="Next request:")).to_contain_text("+ 1 image")
    chip.click()
    wait_for_app_idle(page)
    expect(chip).to_have_count(0)
    expect(page.get_by_text("1 image pending")).to_have_count(0)

    # Attach in the composer itself, type two lines, send: the reply streams where it stays.
    composer_image = {"name": "in-composer.png", "mimeType": "image/png", "buffer": one_pixel_png()}
    page.locator(f"{COMPOSER} input[type=file]").set_input_files([composer_image])
    box = page.locator(CHAT_INPUT)
    box.fill("First line")
    box.press("Shift+Enter")
    box.press_sequentially("second line")
    words = " ".join(f"word{n:02d}" for n in range(60))
    fake.enqueue(Scenario(text=words, chunk_delay=0.05))
    box.press("Enter")
    assistant = chat_messages(page, "assistant")
    user = chat_messages(page, "user")
    stop = by_key(assistant.last, Keys.STOP)
    expect(stop).to_be_visible(timeout=15_000)
    expect(assistant.last).to_contain_text("word05", timeout=15_000)
    while_streaming = _offset_between(user.last, assistant.last)
    wait_for_app_idle(page, expect=assistant.last.locator(CAPTION, has_text="finish: stop"))
    assert abs(_offset_between(user.last, assistant.last) - while_streaming) < 2  # no jump
    expect(assistant).to_have_count(1)

    (request,) = fake.chat_requests()
    parts = request.json["messages"][-1]["content"]
    assert parts[0] == {"type": "text", "text": "First line\nsecond line"}
    assert [part["type"] for part in parts] == ["text", "image_url"]
    expect(user.last.locator("img")).to_have_count(1)
    expect(user.last).to_contain_text("second line")
    expect(box).to_have_value("")


def test_a_long_reply_streams_in_frames_that_grow_with_the_new_text(
    page: Page, app_url: str, fake: FakeOpenAIServer
) -> None:
    paragraph = " ".join(["streaming"] * 45)
    text = "\n\n".join(f"Part {n}: {paragraph}" for n in range(300))  # ~140 KB in 300 paragraphs
    fake.enqueue(Scenario(text=text, chunks=600, chunk_delay=0.005))  # ~3 s: dozens of redraws
    received: list[int] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: received.append(len(frame))))
    open_app(page, app_url)
    received.clear()
    send_chat_message(page, "A long answer, please")
    assistant = chat_messages(page, "assistant")
    wait_for_app_idle(page, expect=assistant.locator(CAPTION, has_text="finish: stop"), timeout=60_000)
    expect(assistant.first).to_contain_text("Part 299: streaming")
    # Redrawing the whole reply at each update would send it dozens of times; settled paragraphs
    # are sent once while streaming, and once more in the final redraw of the finished message.
    assert sum(received) < 4 * len(text), f"{sum(received):,} bytes of frames for a {len(text):,}-character reply"


def test_a_cold_first_request_to_images_shows_the_sidebar_and_all_panels(page: Page, own_app) -> None:
    """serve.py's workaround: without it, the first request of a fresh process to /images runs
    pages/images.py alone (a legacy pages/ folder), with no sidebar and no navigation."""
    panels = re.findall(r'st\.Page\([^,]+, title="([^"]+)"', (REPO_ROOT / "app.py").read_text())
    assert len(panels) >= 6  # chat, images, functions, schema builder, cost & context, prompt library...
    open_app(page, own_app.url, "images")
    nav = page.locator("[data-testid=stSidebarNav] a")
    expect(nav).to_have_count(len(panels))
    for link, label in zip(nav.all(), panels, strict=True):
        expect(link).to_contain_text(label)
    sidebar = page.locator("[data-testid=stSidebar]")
    expect(sidebar.get_by_text("Connection", exact=True)).to_be_visible()
    expect(sidebar.get_by_text("Session cost")).to_be_visible()
    expect(page.locator("[data-testid=stFileUploader]").first).to_be_visible()  # the Images panel itself


def test_parameters_rerun_alone_unless_the_meter_must_follow(page: Page, app_url: str, fake: FakeOpenAIServer) -> None:
    from components.meter import MeterKeys

    open_app(page, app_url)
    send_chat_message(page, "Hello")
    assistant = chat_messages(page, "assistant")
    wait_for_app_idle(page, expect=assistant.locator(CAPTION, has_text="finish: stop"))
    page.get_by_text("System prompt & parameters").click()
    max_tokens = by_key(page, Keys.MAX_TOKENS).locator("input")
    wait_for_app_idle(page, expect=max_tokens)

    # A parameter the meter shows (the reserved reply): the whole app follows in the same click.
    max_tokens.fill("1000")
    max_tokens.press("Enter")
    wait_for_app_idle(page, expect=by_key(page, MeterKeys.LIVE).get_by_text("Reply reserved: 1,000"))
    expect(page.get_by_text("max tokens 1,000")).to_be_visible()

    # A sampling parameter: only the fragment reruns, and the next request carries it.
    seed = by_key(page, Keys.SEED).locator("input")
    seed.fill("7")
    seed.press("Enter")
    wait_for_app_idle(page)
    send_chat_message(page, "Again")
    wait_for_app_idle(page, expect=assistant.nth(1).locator(CAPTION, has_text="finish: stop"))
    body = fake.chat_requests()[-1].json
    assert body["seed"] == 7 and body["max_completion_tokens"] == 1000


def test_edit_and_resend_closes_the_popover(page: Page, app_url: str, fake: FakeOpenAIServer) -> None:
    open_app(page, app_url)
    send_chat_message(page, "Frist question")
    assistant = chat_messages(page, "assistant")
    wait_for_app_idle(page, expect=assistant.locator(CAPTION, has_text="finish: stop"))
    by_key_prefix(page, "chat.edit.").get_by_role("button", name="Edit").click()
    editor = page.get_by_label("Edit and resend from here")
    wait_for_app_idle(page, expect=editor)
    editor.fill("First question")
    page.get_by_role("button", name="Resend").click()
    wait_for_app_idle(page, expect=assistant.first.get_by_text("Echo: First question"))
    expect(editor).to_have_count(0)  # the popover closed: the edit was sent
    expect(page.get_by_role("button", name="Resend")).to_have_count(0)
    assert fake.chat_requests()[-1].json["messages"] == [{"role": "user", "content": "First question"}]
