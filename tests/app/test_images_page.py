"""The Images panel under AppTest: attach by upload and URL, see the figures, choose detail, send."""

from __future__ import annotations

import base64
import io

from PIL import Image

from components.images import IMAGES_PAGE, ImageKeys
from components.state import STATE_KEY, Keys
from playground.conversation import ImageAttachment
from tests.fakes.images import encode, gps_exif_jpeg, photo_like, png_with_text_chunks

UNKNOWN_NOTE = "unknown until the reply's usage arrives"


def png(width: int, height: int) -> bytes:
    return encode(Image.new("RGB", (width, height), (200, 80, 40)), "PNG")


def workspace(app):
    return app.session_state[STATE_KEY].workspace


def images_page(app_factory):
    app = app_factory(page=IMAGES_PAGE)
    assert not app.exception
    return app


def upload(app, *files: tuple[str, bytes]):
    app.file_uploader[0].set_value([(name, data, "image/png") for name, data in files]).run()
    assert not app.exception
    return app


def cost_tables(app) -> list[str]:
    return [block.value for block in app.markdown if block.value.startswith("| detail |")]


def test_uploads_show_the_worked_example_token_counts(app_factory):
    app = upload(images_page(app_factory), ("small.png", png(512, 512)), ("large.png", png(1024, 1024)))
    small, large = workspace(app).pending_images
    assert (small.name, large.name) == ("small.png", "large.png")
    tables = cost_tables(app)
    assert "| auto **◀ chosen** | 415 | $0.00017 |" in tables[0]
    assert "| auto **◀ chosen** | 1,659 | $0.00066 |" in tables[1]
    assert any("2 image(s) · 2,074 tokens" in caption.value for caption in app.caption)
    assert any("low is not cheaper" in caption.value for caption in app.caption)
    # The uploader was cleared (new key) and a rerun does not attach the same files again.
    assert app.file_uploader[0].key == ImageKeys.upload(1) and not app.file_uploader[0].value
    app.run()
    assert len(workspace(app).pending_images) == 2


def test_changing_the_detail_is_stored_on_the_attachment(app_factory):
    app = upload(images_page(app_factory), ("photo.png", png(640, 480)))
    attachment = workspace(app).pending_images[0]
    app.segmented_control(key=ImageKeys.detail(attachment.id)).set_value("high").run()
    assert workspace(app).pending_images[0].detail == "high"
    assert "| high **◀ chosen** |" in cost_tables(app)[0]


def test_a_broken_file_gets_its_own_error_and_the_good_image_stays(app_factory):
    app = upload(images_page(app_factory), ("good.png", png(300, 200)), ("broken.png", b"not an image at all"))
    assert [image.name for image in workspace(app).pending_images] == ["good.png"]
    errors = [error.value for error in app.error]
    assert errors == [
        "“broken.png” is not an image file we can read (whatever its name says). "
        "Accepted formats: PNG, JPEG, WEBP or GIF."
    ]
    upload(app, ("second.png", png(100, 100)))  # the session carries on; the old error is replaced
    assert [image.name for image in workspace(app).pending_images] == ["good.png", "second.png"]
    assert not app.error


def test_errors_can_be_dismissed(app_factory):
    app = upload(images_page(app_factory), ("broken.png", b"\x89PNG\r\n\x1a\n broken"))
    assert len(app.error) == 1
    app.button(key=ImageKeys.DISMISS_ERRORS).click().run()
    assert not app.error


def test_remove_takes_the_image_off_the_next_message(app_factory):
    app = upload(images_page(app_factory), ("a.png", png(64, 64)), ("b.png", png(64, 64)))
    first = workspace(app).pending_images[0]
    app.button(key=ImageKeys.remove(first.id)).click().run()
    assert [image.name for image in workspace(app).pending_images] == ["b.png"]
    assert len(cost_tables(app)) == 1


def test_url_attachment_says_tokens_are_unknown_until_usage_arrives(app_factory, fake):
    app = images_page(app_factory)
    app.text_input(key=ImageKeys.URL).input("https://example.com/cat.jpg")
    app.button(key=ImageKeys.URL_ADD).click().run()
    attachment = workspace(app).pending_images[0]
    assert attachment.url == "https://example.com/cat.jpg" and attachment.width is None
    assert any(UNKNOWN_NOTE in info.value for info in app.info)
    assert app.text_input(key=ImageKeys.URL).value == ""  # cleared for the next one
    assert not fake.requests  # nothing is sent before the message


def test_url_with_its_size_is_estimated(app_factory):
    app = images_page(app_factory)
    app.text_input(key=ImageKeys.URL).input("https://example.com/cat.jpg")
    app.number_input(key=ImageKeys.URL_WIDTH).set_value(1024)
    app.number_input(key=ImageKeys.URL_HEIGHT).set_value(1024)
    app.button(key=ImageKeys.URL_ADD).click().run()
    assert "| auto **◀ chosen** | 1,659 |" in cost_tables(app)[0]


def test_a_bad_url_is_refused_and_kept_for_fixing(app_factory):
    app = images_page(app_factory)
    app.text_input(key=ImageKeys.URL).input("ftp://example.com/cat.jpg")
    app.button(key=ImageKeys.URL_ADD).click().run()
    assert "is not a web address" in app.error[0].value
    assert app.text_input(key=ImageKeys.URL).value == "ftp://example.com/cat.jpg"
    assert workspace(app).pending_images == []


def test_more_images_than_the_provider_allows_are_refused(app_factory):
    app = images_page(app_factory)
    app.sidebar.selectbox(key=Keys.PROVIDER).select("azure").run()
    workspace(app).pending_images = [
        ImageAttachment(name=f"{n}.png", url=f"https://example.com/{n}.png") for n in range(10)
    ]
    upload(app, ("eleven.png", png(32, 32)))
    assert app.error[0].value.startswith("“eleven.png” was not attached: Azure OpenAI takes at most 10 images")
    assert len(workspace(app).pending_images) == 10


def test_camera_is_behind_a_toggle_and_each_photo_is_attached_once(app_factory):
    app = images_page(app_factory)
    assert not app.camera_input  # the browser is not asked for the camera on page load
    app.toggle(key=ImageKeys.CAMERA_ON).set_value(True).run()
    photo = encode(photo_like(640, 480), "JPEG", quality=85)
    app.camera_input(key=ImageKeys.camera(0)).set_value(("image.jpg", photo, "image/jpeg")).run()
    assert [image.name for image in workspace(app).pending_images] == ["camera-photo-1.jpg"]
    assert app.camera_input[0].key == ImageKeys.camera(1)  # ready for the next photo
    app.run()
    assert len(workspace(app).pending_images) == 1


def test_the_panel_shows_bytes_sent_and_what_the_pipeline_did(app_factory):
    photo = encode(photo_like(3000, 2400), "JPEG", quality=90)
    app = upload(images_page(app_factory), ("photo.jpg", photo))
    assert any(
        "instead of the original JPEG 3000 x 2400 px" in caption.value and "% of its bytes" in caption.value
        for caption in app.caption
    )
    assert any("downscaled from 3000x2400 to 2048x1639" in block.value for block in app.markdown)
    assert app.image[0].captions == ["What GPT-4.1 mini sees: 2048 x 1639 px, 64 x 52 32-px patches"]


def test_figures_for_an_unknown_model_are_labelled_estimates(app_factory, clean_env):
    clean_env.setenv("OPENAI_MODEL", "my-vision-model")  # a local server's model the registry doesn't know
    app = upload(images_page(app_factory), ("small.png", png(512, 512)))
    assert cost_tables(app)[0].startswith("| detail | tokens (est.) | input cost (est.) |")
    assert any("estimated for “my-vision-model”" in caption.value for caption in app.caption)


def test_send_with_a_message_carries_the_image_with_its_detail(app_factory, fake):
    app = upload(images_page(app_factory), ("small.png", png(512, 512)))
    attachment = workspace(app).pending_images[0]
    app.segmented_control(key=ImageKeys.detail(attachment.id)).set_value("low").run()
    app.text_input(key=ImageKeys.MESSAGE).input("What colour is this?")
    app.button(key=ImageKeys.SEND).click().run()
    assert not app.exception
    content = fake.chat_requests()[-1].json["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "What colour is this?"}
    assert content[1]["image_url"]["detail"] == "low"
    assert content[1]["image_url"]["url"].startswith("data:image/png;base64,")
    # The chat page took over: the reply is there and nothing is pending any more.
    assert app.chat_message[-1].markdown[0].value == "Echo: What colour is this? [1 image(s), detail=low]"
    assert workspace(app).pending_images == []


def test_chat_page_shows_the_pending_images_with_remove(app_factory, fake):
    app = upload(images_page(app_factory), ("a.png", png(512, 512)), ("b.png", png(512, 512)))
    first = workspace(app).pending_images[0]
    app.switch_page("pages/chat.py").run()
    assert any("With your next message: 2 image(s) · 830 tokens" in c.value for c in app.caption)
    app.button(key=ImageKeys.strip_remove(first.id)).click().run()
    assert [image.name for image in workspace(app).pending_images] == ["b.png"]
    app.chat_input(key=Keys.CHAT_INPUT).set_value("and this?").run()
    content = fake.chat_requests()[-1].json["messages"][-1]["content"]
    assert [part["type"] for part in content] == ["text", "image_url"]
    assert not any("With your next message" in c.value for c in app.caption)


def test_a_detail_change_reaches_the_sidebar_meter_in_the_same_click(app_factory, clean_env):
    clean_env.setenv("OPENAI_MODEL", "gpt-4.1")  # a tile model: low detail is cheaper
    app = upload(images_page(app_factory), ("big.png", png(2048, 2048)))
    attachment = workspace(app).pending_images[0]
    sidebar_text = lambda: " ".join(m.value for m in app.sidebar.markdown)  # noqa: E731
    assert "Prompt: 772 tokens" in sidebar_text()  # 765 image tokens (high) + message overhead and priming
    app.segmented_control(key=ImageKeys.detail(attachment.id)).set_value("low").run()
    assert "Prompt: 92 tokens" in sidebar_text()  # 85 (low): shown in the same run, not one click later


def test_metadata_is_removed_said_on_the_card_and_never_reaches_the_server(app_factory, fake):
    app = upload(
        images_page(app_factory),
        ("phone.jpg", gps_exif_jpeg((600, 400), orientation=6)),
        ("chunky.png", png_with_text_chunks((200, 150), text_bytes=6_000_000)),
    )
    notes = " ".join(block.value for block in app.markdown)
    assert "metadata removed: GPS, EXIF, XMP, comments, data after the image" in notes
    assert "metadata removed: GPS, 6 MB of text, XMP, EXIF, data after the image" in notes
    assert any("Sends the file as uploaded without its metadata: 473 bytes instead of" in c.value for c in app.caption)
    app.text_input(key=ImageKeys.MESSAGE).input("Where was this taken?")
    app.button(key=ImageKeys.SEND).click().run()
    assert not app.exception
    parts = fake.chat_requests()[-1].json["messages"][-1]["content"][1:]
    assert len(parts) == 2
    for part in parts:
        payload = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
        assert len(payload) < 10_000  # the 6 MB of text stayed home
        received = Image.open(io.BytesIO(payload))
        assert not dict(received.getexif()) and "exif" not in received.info and "xmp" not in received.info
        assert b"Jane Doe" not in payload and b"GPS" not in payload
    assert Image.open(io.BytesIO(base64.b64decode(parts[0]["image_url"]["url"].split(",", 1)[1]))).size == (400, 600)


def test_the_panel_has_a_title_a_purpose_and_says_the_upload_limits(app_factory):
    app = images_page(app_factory)
    assert [title.value for title in app.title] == ["Images"]
    captions = [caption.value for caption in app.caption]
    assert captions[0].startswith("Attach images to your next chat message: see what GPT-4.1 mini sees")
    limits = next(caption for caption in captions if caption.startswith("PNG, JPEG, WEBP or GIF"))
    assert "up to 20 MB per image on" in limits and "A file over 50 MB is refused by your browser" in limits
