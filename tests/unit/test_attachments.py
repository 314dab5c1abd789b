"""The pending-images glue: uploads and URLs into Workspace.pending_images, per-detail figures, limits."""

from __future__ import annotations

import pytest
from PIL import Image

from playground.attachments import (
    attach_upload,
    attach_url,
    detail_costs,
    images_in_next_request,
    max_images_per_request,
    pending_totals,
    preview,
    remove_pending,
    thumbnail,
    upload_limits_text,
)
from playground.connection import ConnectionSettings
from playground.conversation import ImageAttachment
from playground.errors import ErrorKind, PlaygroundError
from playground.registry import Price
from playground.workspace import Workspace
from tests.fakes.images import (
    animated_gif,
    encode,
    exif_rotated_jpeg,
    photo_like,
    png_with_text_chunks,
    truncated_png,
)

PRICE = Price(input=0.40, cached_input=0.10, output=1.60)


def png(width: int, height: int) -> bytes:
    return encode(Image.new("RGB", (width, height), (30, 120, 200)), "PNG")


def workspace(provider: str = "openai", model: str = "gpt-4.1-mini") -> Workspace:
    return Workspace(connection=ConnectionSettings(provider=provider, model=model))


# --- uploads ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("size", "tokens"), [((512, 512), 415), ((1024, 1024), 1_659)])
def test_upload_is_queued_with_the_worked_example_token_counts(size, tokens):
    ws = workspace()
    attachment, facts = attach_upload(ws, png(*size), "square.png")
    assert ws.pending_images == [attachment]
    assert attachment.url.startswith("data:image/png;base64,") and not attachment.is_remote
    assert (attachment.width, attachment.height, attachment.detail) == (*size, "auto")
    assert attachment.sent_bytes == len(attachment.payload())
    assert (facts.original_width, facts.original_height, facts.original_format) == (*size, "PNG")
    assert facts.sent_as_uploaded and facts.original_bytes == attachment.sent_bytes
    costs = detail_costs(attachment, ws.model_spec(), PRICE)
    assert [(row.detail, row.tokens) for row in costs] == [("auto", tokens), ("low", tokens), ("high", tokens)]
    assert costs[0].cost_usd == pytest.approx(tokens * 0.40 / 1_000_000)


def test_big_photo_is_shrunk_and_the_original_figures_are_kept():
    original = encode(photo_like(3000, 2400), "JPEG", quality=90)
    attachment, facts = attach_upload(workspace(), original, "photo.jpg")
    assert (attachment.width, attachment.height) == (2048, 1639)  # what gpt-4.1-mini looks at anyway
    assert facts.original_bytes == len(original) > attachment.sent_bytes
    assert not facts.sent_as_uploaded and facts.sent_format == "JPEG"
    assert (facts.original_width, facts.original_height) == (3000, 2400)
    assert any("downscaled from 3000x2400" in note for note in facts.notes)


@pytest.mark.parametrize(
    ("data", "note"),
    [(exif_rotated_jpeg(), "per its EXIF orientation tag"), (animated_gif(), "only the first frame is sent")],
)
def test_pipeline_notes_reach_the_panel(data, note):
    _, facts = attach_upload(workspace(), data, "odd-image")
    assert any(note in line for line in facts.notes)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"just some text, not a picture" * 10, "“notes.png” is not an image file we can read"),
        (truncated_png(), "“notes.png” is damaged or incomplete"),
        (b"", "“notes.png” is empty"),
    ],
)
def test_bad_upload_raises_its_own_error_and_queues_nothing(data, message):
    ws = workspace()
    good, _ = attach_upload(ws, png(64, 64), "good.png")
    with pytest.raises(PlaygroundError) as raised:
        attach_upload(ws, data, "notes.png")
    assert raised.value.kind is ErrorKind.INVALID_INPUT
    assert raised.value.message.startswith(message)
    assert ws.pending_images == [good]


def test_uploads_are_normalised_for_the_chosen_model():
    ws = workspace(model="gpt-4o")  # tile model: auto/high fit 2048 then the short side to 768
    attachment, _ = attach_upload(ws, png(1024, 1024), "square.png")
    costs = {row.detail: row.tokens for row in detail_costs(attachment, ws.model_spec(), PRICE)}
    assert costs == {"auto": 765, "low": 85, "high": 765}


# --- remote URLs ------------------------------------------------------------------------------
def test_url_without_size_has_unknown_tokens():
    ws = workspace()
    attachment = attach_url(ws, "  https://example.com/pics/cat.jpg  ")
    assert ws.pending_images == [attachment]
    assert attachment.url == "https://example.com/pics/cat.jpg" and attachment.is_remote
    assert attachment.name == "cat.jpg"
    assert detail_costs(attachment, ws.model_spec(), PRICE) == []
    assert attachment.to_api() == {"type": "image_url", "image_url": {"url": attachment.url, "detail": "auto"}}


def test_url_with_a_given_size_is_estimated():
    ws = workspace()
    attachment = attach_url(ws, "http://example.com/", 1024, 1024)
    assert attachment.name == "example.com"
    assert [row.tokens for row in detail_costs(attachment, ws.model_spec(), PRICE)] == [1_659] * 3


@pytest.mark.parametrize(
    ("url", "width", "height", "message"),
    [
        ("ftp://example.com/a.png", None, None, "is not a web address"),
        ("javascript:alert(1)", None, None, "is not a web address"),
        ("file:///etc/passwd", None, None, "is not a web address"),
        ("example.com/a.png", None, None, "is not a web address"),
        ("https://exa mple.com/a.png", None, None, "is not a web address"),
        ("https://example.com/a.png", 800, None, "Give both the width and the height"),
        ("https://example.com/a.png", 0, 10, "must be positive"),
    ],
)
def test_bad_url_or_size_is_refused(url, width, height, message):
    ws = workspace()
    with pytest.raises(PlaygroundError, match=message) as raised:
        attach_url(ws, url, width, height)
    assert raised.value.kind is ErrorKind.INVALID_INPUT
    assert ws.pending_images == []


# --- the per-request image limit ---------------------------------------------------------------
def test_limit_comes_from_the_registry_and_counts_the_conversation_too():
    ws = workspace(provider="azure")
    limit = max_images_per_request("azure")
    assert limit == 10 and max_images_per_request("openai") == 500
    ws.conversation.add_user("earlier", [ImageAttachment(name="old.png", url="https://example.com/old.png")])
    for number in range(limit - 1):
        attach_url(ws, f"https://example.com/{number}.png")
    assert images_in_next_request(ws) == limit
    with pytest.raises(PlaygroundError) as raised:
        attach_upload(ws, png(32, 32), "one-too-many.png")
    assert raised.value.message.startswith("“one-too-many.png” was not attached: Azure OpenAI takes at most 10")
    assert "already carries 10" in raised.value.message
    assert len(ws.pending_images) == limit - 1


# --- removing, totals, preview --------------------------------------------------------------
def test_remove_pending_takes_only_that_image():
    ws = workspace()
    first = attach_url(ws, "https://example.com/1.png")
    second = attach_url(ws, "https://example.com/2.png")
    remove_pending(ws, first.id)
    remove_pending(ws, first.id)  # a second click on a stale button is harmless
    assert ws.pending_images == [second]


def test_pending_totals_use_each_images_chosen_detail():
    ws = workspace(model="gpt-4o")
    small, _ = attach_upload(ws, png(1024, 1024), "a.png")
    large, _ = attach_upload(ws, png(1024, 1024), "b.png")
    small.detail, large.detail = "low", "high"
    attach_url(ws, "https://example.com/c.png")
    totals = pending_totals(ws, ws.model_spec(), PRICE)
    assert (totals.count, totals.tokens, totals.unknown) == (3, 85 + 765, 1)
    assert totals.cost_usd == pytest.approx(850 * 0.40 / 1_000_000)
    assert pending_totals(ws, ws.model_spec(), None).cost_usd is None
    assert detail_costs(small, ws.model_spec(), None)[0].cost_usd is None


def test_figures_for_an_unknown_model_are_flagged_as_estimates():
    ws = workspace(provider="compatible", model="my-local-vision-model")
    attachment, _ = attach_upload(ws, png(512, 512), "square.png")
    spec = ws.model_spec()
    assert spec.is_estimate and spec.id == "gpt-4.1-mini"
    assert detail_costs(attachment, spec, PRICE)[0].tokens == 415


def test_preview_shows_the_patch_grid_or_the_tile_view():
    ws = workspace()
    attachment, _ = attach_upload(ws, png(500, 300), "wide.png")
    view = preview(attachment, ws.model_spec())
    assert view is not None and view.size == (512, 320)  # whole 32-px patches: 16 x 10
    tile_ws = workspace(model="gpt-4o")
    big, _ = attach_upload(tile_ws, png(2048, 1024), "big.png")
    big.detail = "low"
    assert preview(big, tile_ws.model_spec()).size == (512, 512)  # one 512-px tile, padded
    assert preview(attach_url(ws, "https://example.com/x.png"), ws.model_spec()) is None


def test_thumbnails_are_square_whatever_the_shape():
    ws = workspace()
    tall, _ = attach_upload(ws, png(100, 300), "tall.png")
    square = thumbnail(tall, 96)
    assert square.size == (96, 96) and square.mode == "RGBA"
    assert square.getpixel((0, 48))[3] == 0 and square.getpixel((48, 48))[3] == 255  # padded, not stretched
    assert thumbnail(attach_url(ws, "https://example.com/x.png"), 96) is None


def test_an_upload_reduced_for_one_model_says_so_when_another_is_chosen():
    tile_model = workspace(model="gpt-4.1")
    _, facts = attach_upload(tile_model, png(3000, 3000), "big.png")
    assert facts.prepared_for == "gpt-4.1" and not facts.prepared_for_another_model("gpt-4.1")
    assert facts.prepared_for_another_model("gpt-4.1-mini")  # mini would have used 2048 px, not 768
    _, small = attach_upload(tile_model, png(64, 64), "small.png")
    assert not small.prepared_for_another_model("gpt-4.1-mini")  # sent as uploaded: nothing was lost


def test_upload_limits_are_said_in_words_from_the_registry_and_the_upload_cap():
    openai = upload_limits_text("openai", 50)
    assert openai.startswith("PNG, JPEG, WEBP or GIF (only the first frame of an animation is sent), up to 20 MB")
    assert "per image on OpenAI. A file over 50 MB is refused by your browser before upload" in openai
    azure = upload_limits_text("azure", 50)  # Azure's 50 MB per image is the upload cap too: one number
    assert "up to 50 MB per image. A bigger file is refused by your browser" in azure


def test_metadata_removed_reaches_the_panel():
    _, facts = attach_upload(workspace(), png_with_text_chunks((200, 150), 2_000_000), "chunky.png")
    assert facts.metadata_removed == "GPS, 2 MB of text, XMP, EXIF, data after the image"
    assert facts.pixels_as_uploaded and not facts.sent_as_uploaded
    _, clean = attach_upload(workspace(), png(64, 64), "clean.png")
    assert clean.metadata_removed == "" and clean.sent_as_uploaded
