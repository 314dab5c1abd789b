"""The Images panel in a real browser: upload, choose the detail, see the preview and tokens, send.

The app runs as in production (``streamlit run serve.py``) against the loopback fake OpenAI server;
see ``conftest.py`` for the fixtures and ``helpers.py`` for the waiting strategy.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, expect

from components.images import ImageKeys
from tests.e2e.helpers import by_key, by_key_prefix, chat_messages, open_app, wait_for_app_idle
from tests.fakes.images import encode, gps_exif_jpeg, photo_like
from tests.fakes.server import FakeOpenAIServer

ALERT = "[data-testid=stAlert]"
CAPTION = "[data-testid=stCaptionContainer]"
PREVIEW = "[data-testid=stImage] img"
UPLOADED_FILE = "[data-testid=stFileUploaderFile]"


def open_images_page(page: Page, app_url: str) -> None:
    """Open the app, then the Images page from the sidebar, as a user does."""
    open_app(page, app_url)
    page.locator("[data-testid=stSidebarNav] a", has_text="Images").click()
    wait_for_app_idle(page, expect=by_key_prefix(page, ImageKeys.UPLOAD_PREFIX))


def png_file(name: str, width: int, height: int) -> dict:
    return {"name": name, "mimeType": "image/png", "buffer": encode(photo_like(width, height), "PNG")}


def upload(page: Page, *files: dict) -> None:
    """Put ``files`` into the (current) uploader's file input, in one selection."""
    by_key_prefix(page, ImageKeys.UPLOAD_PREFIX).locator("input[type=file]").set_input_files(list(files))


def test_upload_choose_detail_see_preview_and_send(page: Page, app_url: str, fake: FakeOpenAIServer) -> None:
    open_images_page(page, app_url)

    upload(page, png_file("square.png", 1024, 1024))
    card = by_key_prefix(page, ImageKeys.CARD_PREFIX)
    wait_for_app_idle(page, expect=card.locator(PREVIEW))

    expect(card).to_have_count(1)
    table = card.locator("table")
    expect(table).to_contain_text("1,659")  # the 1024 x 1024 worked example for gpt-4.1-mini
    expect(card.get_by_text("What GPT-4.1 mini sees: 1024 x 1024 px, 32 x 32 32-px patches")).to_be_visible()
    preview = card.locator(PREVIEW)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=preview.element_handle())
    assert preview.evaluate("img => img.naturalWidth") == 768  # the grid preview, drawn at most 768 px wide
    expect(by_key_prefix(page, ImageKeys.UPLOAD_PREFIX).locator(UPLOADED_FILE)).to_have_count(0)  # cleared

    by_key_prefix(card, ImageKeys.DETAIL_PREFIX).get_by_role("radio", name="high", exact=True).click()
    wait_for_app_idle(page, expect=table.locator("tr", has_text="high ◀ chosen"))
    expect(table.locator("tr", has_text="auto ◀ chosen")).to_have_count(0)

    by_key(page, ImageKeys.MESSAGE).locator("input").fill("Describe this picture")
    by_key(page, ImageKeys.SEND).get_by_role("button").click()
    assistant = chat_messages(page, "assistant")
    wait_for_app_idle(page, expect=assistant.locator(CAPTION, has_text="finish: stop"))

    expect(assistant.first).to_contain_text("Echo: Describe this picture [1 image(s), detail=high]")
    expect(chat_messages(page, "user").first.locator("img")).to_have_count(1)  # the thumbnail in the chat
    content = fake.chat_requests()[-1].json["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "Describe this picture"}
    image_part = content[1]
    assert image_part["type"] == "image_url"
    assert image_part["image_url"]["detail"] == "high"
    assert image_part["image_url"]["url"].startswith("data:image/")
    assert ";base64," in image_part["image_url"]["url"]


def test_a_broken_file_in_the_same_selection_gets_its_own_error(page: Page, app_url: str) -> None:
    open_images_page(page, app_url)

    broken = {"name": "broken.png", "mimeType": "image/png", "buffer": b"this is not a picture" * 10}
    upload(page, png_file("good.png", 512, 512), broken)
    error = page.locator(ALERT, has_text="“broken.png” is not an image file we can read")
    wait_for_app_idle(page, expect=error)

    card = by_key_prefix(page, ImageKeys.CARD_PREFIX)
    expect(card).to_have_count(1)
    expect(card.locator("table")).to_contain_text("415")  # the 512 x 512 worked example
    expect(by_key_prefix(page, ImageKeys.UPLOAD_PREFIX).locator(UPLOADED_FILE)).to_have_count(0)


def test_an_oversize_file_is_explained_in_words(page: Page, app_url: str, tmp_path: Path) -> None:
    open_images_page(page, app_url)
    limits = page.locator(CAPTION, has_text="A file over 50 MB is refused by your browser before upload")
    expect(limits).to_be_visible()  # said before anything is chosen, next to the uploader
    expect(limits).to_contain_text("PNG, JPEG, WEBP or GIF")

    huge = tmp_path / "huge.jpg"
    huge.write_bytes(b"\xff\xd8" + bytes(60_000_000))
    by_key_prefix(page, ImageKeys.UPLOAD_PREFIX).locator("input[type=file]").set_input_files([huge])
    refused = by_key_prefix(page, ImageKeys.UPLOAD_PREFIX).get_by_role("alert")
    expect(refused).to_contain_text("File must be 50.0MB or smaller")  # the browser's mark: its text shows on hover
    expect(limits).to_be_visible()
    expect(by_key_prefix(page, ImageKeys.CARD_PREFIX)).to_have_count(0)  # nothing attached, nothing sent


def test_gps_metadata_is_removed_said_on_the_card_and_not_sent(
    page: Page, app_url: str, fake: FakeOpenAIServer
) -> None:
    open_images_page(page, app_url)
    upload(page, {"name": "phone.jpg", "mimeType": "image/jpeg", "buffer": gps_exif_jpeg((600, 400))})
    card = by_key_prefix(page, ImageKeys.CARD_PREFIX)
    wait_for_app_idle(page, expect=card.locator(PREVIEW))
    expect(card).to_contain_text("metadata removed: GPS, EXIF, XMP, comments, data after the image")

    by_key(page, ImageKeys.MESSAGE).locator("input").fill("Where is this?")
    by_key(page, ImageKeys.SEND).get_by_role("button").click()
    wait_for_app_idle(page, expect=chat_messages(page, "assistant").locator(CAPTION, has_text="finish: stop"))
    url = fake.chat_requests()[-1].json["messages"][-1]["content"][1]["image_url"]["url"]
    payload = base64.b64decode(url.split(",", 1)[1])
    received = Image.open(io.BytesIO(payload))
    assert received.size == (400, 600)  # upright: the orientation went into the pixels
    assert not dict(received.getexif()) and b"Exif" not in payload and b"GPS" not in payload
