"""Image tokens, the normalisation pipeline and the grid preview (playground/vision/)."""

from __future__ import annotations

import base64
import io
import random
import subprocess
import sys

import pytest
from PIL import Image, ImageChops, ImageCms, ImageStat

from playground.errors import ErrorKind, PlaygroundError
from playground.registry import load_registry, resolve_model
from playground.vision.metadata import MetadataScan, scan_metadata
from playground.vision.normalise import JPEG_QUALITY, PreparedImage, normalise_image
from playground.vision.preview import preview_with_grid
from playground.vision.tokens import DETAILS, estimate_image, grid_cell_size, image_tokens, model_view_size
from tests.fakes import images as fakes

# ---------------------------------------------------------------------------------------------
# Token counts

# FACTS 4 worked examples for gpt-4.1-mini: (size, rule B "fit_then_budget", rule A "patch_cap").
WORKED_EXAMPLES = [
    ((512, 512), 415, 415),
    ((1024, 1024), 1659, 1659),
    ((1800, 2400), 4977, 2353),
    ((2048, 4096), 3318, 2362),
]


@pytest.mark.parametrize(("size", "rule_b", "rule_a"), WORKED_EXAMPLES)
def test_worked_examples_both_rules(size: tuple[int, int], rule_b: int, rule_a: int) -> None:
    assert image_tokens(*size, rule="fit_then_budget") == rule_b
    assert image_tokens(*size, rule="patch_cap") == rule_a
    for detail in DETAILS:  # low is not cheaper for this model
        assert image_tokens(*size, detail, rule="fit_then_budget") == rule_b
        assert image_tokens(*size, detail, rule="patch_cap") == rule_a


def test_default_rule_is_the_registry_rule() -> None:
    assert resolve_model("gpt-4.1-mini").image.rule == "fit_then_budget"
    assert image_tokens(1800, 2400) == 4977
    # The override does not touch the registry.
    image_tokens(1800, 2400, rule="patch_cap")
    assert load_registry().models["gpt-4.1-mini"].image.rule == "fit_then_budget"


def test_rule_object_override_uses_its_own_parameters() -> None:
    base = resolve_model("gpt-4.1-mini").image
    custom = base.model_copy(update={"multiplier": 2.0, "max_side": 1024})
    # 2048x4096 fits 1024 -> 512x1024 = 16*32 = 512 patches * 2.0
    assert image_tokens(2048, 4096, rule=custom) == 1024


def test_worked_example_views_and_grids() -> None:
    b = estimate_image(1800, 2400, rule="fit_then_budget")
    assert (b.view_size, b.columns, b.rows, b.units, b.cell) == ((1536, 2048), 48, 64, 3072, 32)
    a = estimate_image(1800, 2400, rule="patch_cap")
    assert (a.view_size, a.columns, a.rows, a.units) == ((1056, 1408), 33, 44, 1452)
    a2 = estimate_image(2048, 4096, rule="patch_cap")
    assert (a2.view_size, a2.units) == ((864, 1728), 1458)
    assert model_view_size(2048, 4096) == (1024, 2048)
    assert model_view_size(2048, 4096, rule="patch_cap") == (864, 1728)


def test_tile_models() -> None:
    assert image_tokens(1024, 1024, "high", "gpt-4o") == 765  # 768x768 -> 4 tiles
    assert image_tokens(1024, 1024, "auto", "gpt-4o") == 765
    assert image_tokens(1024, 1024, "low", "gpt-4o") == 85
    assert image_tokens(2048, 4096, "high", "gpt-4o") == 1105  # 768x1536 -> 6 tiles
    assert model_view_size(2048, 4096, "gpt-4o") == (768, 1536)
    assert image_tokens(4096, 8192, "low", "gpt-4o") == 85
    assert image_tokens(1024, 1024, "low", "gpt-4o-mini") == 2833
    assert image_tokens(1024, 1024, "high", "gpt-4o-mini") == 2833 + 5667 * 4
    assert image_tokens(512, 512, "high", "gpt-4.1") == 255
    assert model_view_size(2000, 1000, "gpt-4o", "low") == (512, 256)
    est = estimate_image(2048, 4096, "high", "gpt-4o")
    assert (est.method, est.cell, est.columns, est.rows) == ("tile", 512, 2, 3)


def test_other_patch_model_multiplier() -> None:
    assert image_tokens(1024, 1024, model="gpt-4.1-nano") == 2520  # ceil(1024 * 2.46)
    assert image_tokens(50 * 32, 32, model="gpt-4.1-mini") == 81  # 50 * 1.62 exactly: no float ceil bump


@pytest.mark.parametrize(
    ("size", "model", "detail", "rule", "tokens", "view"),
    [
        ((1, 1), "gpt-4.1-mini", "auto", "fit_then_budget", 2, (1, 1)),
        ((1, 1), "gpt-4.1-mini", "auto", "patch_cap", 2, (1, 1)),
        ((10_000, 100), "gpt-4.1-mini", "auto", "fit_then_budget", 104, (2048, 21)),
        ((10_000, 100), "gpt-4.1-mini", "auto", "patch_cap", 2029, (10_000, 100)),  # 313*4 patches
        ((100_000, 1), "gpt-4.1-mini", "auto", "fit_then_budget", 104, (2048, 1)),
        ((1, 1), "gpt-4o", "high", None, 255, (1, 1)),
        ((10_000, 100), "gpt-4o", "high", None, 765, (2048, 21)),
        ((33, 33), "gpt-4.1-mini", "auto", None, 7, (33, 33)),  # 2x2 patches
        ((2049, 2049), "gpt-4.1-mini", "auto", None, 6636, (2048, 2048)),
    ],
)
def test_edge_sizes(
    size: tuple[int, int], model: str, detail: str, rule: str | None, tokens: int, view: tuple[int, int]
) -> None:
    est = estimate_image(*size, detail, model, rule=rule)  # type: ignore[arg-type]
    assert (est.tokens, est.view_size) == (tokens, view)


def test_view_size_is_stable_and_never_enlarges() -> None:
    """Sending the view instead of the original must not change the count, for every model and rule."""
    rng = random.Random(41)
    sizes = [(rng.randint(1, 12_000), rng.randint(1, 12_000)) for _ in range(400)]
    sizes += [(rng.randint(1, 80), rng.randint(1, 20_000)) for _ in range(100)]
    cases = [("gpt-4.1-mini", "fit_then_budget"), ("gpt-4.1-mini", "patch_cap"), ("gpt-4.1-nano", None)]
    cases += [("gpt-4o", None), ("gpt-4o-mini", None)]
    for model, rule in cases:
        for w, h in sizes:
            for detail in ("high", "low"):
                est = estimate_image(w, h, detail, model, rule=rule)  # type: ignore[arg-type]
                assert est.view_width <= w and est.view_height <= h
                again = estimate_image(*est.view_size, detail, model, rule=rule)  # type: ignore[arg-type]
                assert again.view_size == est.view_size, (model, rule, w, h)
                assert again.tokens == est.tokens, (model, rule, w, h)
                if est.method == "patch":
                    cap = 1536 if rule == "patch_cap" else 6144
                    assert est.units <= cap


def test_unknown_model_falls_back_to_default_and_says_so() -> None:
    est = estimate_image(1024, 1024, model="my-azure-deployment")
    assert (est.model, est.tokens, est.is_estimate) == ("gpt-4.1-mini", 1659, True)


def test_grid_cell_size() -> None:
    assert grid_cell_size("gpt-4.1-mini") == 32
    assert grid_cell_size("gpt-4o") == 512


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="detail"):
        image_tokens(10, 10, "medium")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        image_tokens(0, 10)
    with pytest.raises(ValueError, match="patch models only"):
        image_tokens(10, 10, model="gpt-4o", rule="patch_cap")
    with pytest.raises(ValueError, match="unknown image rule"):
        image_tokens(10, 10, rule="biggest")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Normalisation: the corpus


def _sent(prepared: PreparedImage) -> Image.Image:
    """Re-open what will be sent, and check it matches what PreparedImage says."""
    im = Image.open(io.BytesIO(prepared.data))
    im.load()
    assert im.size == (prepared.width, prepared.height)
    assert im.format == prepared.format
    assert prepared.mime_type == Image.MIME[prepared.format]
    assert prepared.sent_bytes == len(prepared.data)
    return im


def _invalid(data: bytes, filename: str | None = None, **kwargs: object) -> PlaygroundError:
    with pytest.raises(PlaygroundError) as caught:
        normalise_image(data, filename=filename, **kwargs)  # type: ignore[arg-type]
    assert caught.value.kind is ErrorKind.INVALID_INPUT
    assert "Traceback" not in caught.value.message
    return caught.value


def test_decompression_bomb_header_is_rejected_without_decoding() -> None:
    data = fakes.png_bomb_header(50_000, 50_000)
    assert len(data) < 100_000
    err = _invalid(data, "bomb.png")
    assert err.details["reason"] == "too_many_pixels"
    assert "2,500,000,000 pixels" in err.message and "100,000,000" in err.message
    assert err.message.startswith("“bomb.png”")


def test_pixel_cap_checked_from_header_below_pillows_own_limit() -> None:
    # 110 MP: over the registry cap (100 MP), under Pillow's hard limit; Pillow only warns.
    with pytest.warns(Image.DecompressionBombWarning):
        err = _invalid(fakes.png_bomb_header(11_000, 10_000))
    assert "11000 x 10000 = 110,000,000 pixels" in err.message
    assert err.details == {"reason": "too_many_pixels", "pixels": 110_000_000, "limit": 100_000_000}


@pytest.mark.parametrize("factory", [fakes.truncated_jpeg, fakes.truncated_png])
def test_truncated_files_fail_early(factory) -> None:
    err = _invalid(factory(), "cut")
    assert err.details["reason"] == "corrupt"
    assert "damaged or incomplete" in err.message


def test_png_named_jpg_is_accepted_by_content() -> None:
    filename, data = fakes.png_named_jpg()
    prepared = normalise_image(data, filename=filename)
    im = _sent(prepared)
    assert (prepared.original_format, prepared.format, im.mode, prepared.size) == ("PNG", "PNG", "RGB", (300, 200))
    assert prepared.unchanged and prepared.data == data
    assert any("name says .jpg" in note for note in prepared.notes)


def test_text_file_named_png_is_not_an_image() -> None:
    filename, data = fakes.text_named_png()
    err = _invalid(data, filename)
    assert err.details["reason"] == "not_an_image"
    assert "“notes.png” is not an image" in err.message
    assert "PNG, JPEG, WEBP or GIF" in err.message


def test_bmp_is_a_valid_image_in_a_format_not_accepted() -> None:
    err = _invalid(fakes.bmp_image(), "paint.bmp")
    assert err.details["reason"] == "unsupported_format" and err.details["format"] == "BMP"
    assert "is a BMP image; only PNG, JPEG, WEBP or GIF images are accepted" in err.message


def test_empty_file() -> None:
    err = _invalid(b"", "empty.png")
    assert err.message == "“empty.png” is empty (0 bytes)."


def test_byte_cap_per_provider() -> None:
    data = b"\x89PNG\r\n\x1a\n" + bytes(20_000_001)
    err = _invalid(data, "huge.png", provider="openai")
    assert err.details == {"reason": "too_many_bytes", "bytes": len(data), "limit": 20_000_000}
    assert err.message == (
        "“huge.png” is 20,000,009 bytes; the limit for OpenAI is 20 MB per image. "
        "Use a smaller or more compressed file."
    )
    # Azure takes 50 MB: the same bytes pass the cap and fail later, as a damaged PNG.
    assert _invalid(data, "huge.png", provider="azure").details["reason"] != "too_many_bytes"


def test_unknown_provider_is_a_configuration_error() -> None:
    with pytest.raises(PlaygroundError) as caught:
        normalise_image(fakes.one_pixel_png(), provider="nowhere")
    assert caught.value.kind is ErrorKind.CONFIGURATION


def test_cmyk_jpeg_is_converted_to_rgb_with_the_right_colours() -> None:
    prepared = normalise_image(fakes.cmyk_jpeg((400, 300)))
    im = _sent(prepared)
    assert (im.mode, prepared.format) == ("RGB", "JPEG")
    assert "converted from CMYK to RGB" in prepared.notes
    cyan, yellow = im.getpixel((50, 150)), im.getpixel((350, 150))
    assert cyan[0] < 30 and cyan[1] > 225 and cyan[2] > 225, cyan
    assert yellow[0] > 225 and yellow[1] > 225 and yellow[2] < 30, yellow


def test_16_bit_grayscale_is_scaled_not_clipped() -> None:
    data = fakes.gray16_png((256, 64))
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    prepared = normalise_image(data)
    im = _sent(prepared)
    assert im.mode == "L"
    assert im.getextrema() == (0, 255)
    assert 120 < ImageStat.Stat(im).mean[0] < 136  # a ramp: mid-grey on average, not all white
    assert im.getpixel((0, 10)) < 5 and im.getpixel((128, 10)) in range(118, 138)
    assert any("16-bit" in note for note in prepared.notes)


def test_small_rgba_png_is_sent_unchanged() -> None:
    data = fakes.rgba_png((200, 100))
    prepared = normalise_image(data)
    im = _sent(prepared)
    assert prepared.unchanged and prepared.data == data and im.mode == "RGBA"
    assert prepared.notes == ()


def test_large_rgba_png_keeps_alpha_as_png() -> None:
    prepared = normalise_image(fakes.rgba_png((4000, 1000)))
    im = _sent(prepared)
    assert (prepared.format, im.mode, im.size) == ("PNG", "RGBA", (2048, 512))
    assert im.getpixel((100, 100)) == (255, 0, 0, 255)
    assert im.getpixel((1900, 100))[3] == 0
    assert "sent as PNG to keep its transparency" in prepared.notes
    assert prepared.tokens() == image_tokens(4000, 1000)


def test_flatten_alpha_onto_white() -> None:
    prepared = normalise_image(fakes.rgba_png((200, 100)), flatten_alpha=True)
    im = _sent(prepared)
    assert im.mode == "RGB"
    assert im.getpixel((190, 50)) == (255, 255, 255)
    assert im.getpixel((10, 50))[0] > 240 and im.getpixel((10, 50))[1] < 15
    assert "transparency flattened onto white" in prepared.notes


def test_palette_png_with_transparency() -> None:
    small = fakes.palette_png_with_transparency((200, 100))
    prepared = normalise_image(small)
    assert prepared.unchanged and _sent(prepared).mode == "P"  # valid PNG-8: sent as is
    prepared = normalise_image(fakes.palette_png_with_transparency((3000, 1000)))
    im = _sent(prepared)
    assert (prepared.format, im.mode, im.size) == ("PNG", "RGBA", (2048, 683))
    assert im.getpixel((100, 300))[3] == 0  # transparent half stays transparent
    assert im.getpixel((1900, 300)) == (0, 0, 255, 255)
    assert "palette image with transparency converted to RGBA" in prepared.notes


@pytest.mark.parametrize(("factory", "kind"), [(fakes.animated_gif, "GIF"), (fakes.animated_webp, "WEBP")])
def test_animation_sends_first_frame(factory, kind: str) -> None:
    data = factory((120, 80))
    prepared = normalise_image(data, filename=f"anim.{kind.lower()}")
    im = _sent(prepared)
    assert getattr(im, "n_frames", 1) == 1
    assert im.size == (120, 80)
    assert im.convert("RGB").getpixel((60, 40)) == fakes.RED
    assert f"animated {kind} with 3 frames: only the first frame is sent" in prepared.notes
    assert prepared.original_format == kind


def test_exif_orientation_6_swaps_dimensions() -> None:
    data = fakes.exif_rotated_jpeg((600, 400), orientation=6)
    prepared = normalise_image(data)
    im = _sent(prepared)
    assert (prepared.original_width, prepared.original_height) == (600, 400)
    assert im.size == (400, 600)
    # The stored top-left corner is shown top-right after a 90° clockwise turn.
    assert im.getpixel((390, 10))[0] > 200 and im.getpixel((390, 10))[1] < 60
    assert im.getpixel((10, 10)) > (240, 240, 240)
    assert im.getexif().get(0x0112) in (None, 1)  # no double rotation by the receiver
    assert "rotated 90° clockwise per its EXIF orientation tag" in prepared.notes


def test_exif_orientation_in_png_is_applied_too() -> None:
    im = Image.new("RGB", (300, 100), (0, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 8
    prepared = normalise_image(fakes.encode(im, "PNG", exif=exif))
    assert _sent(prepared).size == (100, 300)


def test_one_pixel_image() -> None:
    prepared = normalise_image(fakes.one_pixel_png())
    im = _sent(prepared)
    assert im.size == (1, 1) and im.getpixel((0, 0)) == fakes.RED
    assert prepared.tokens_by_detail == {"auto": 2, "low": 2, "high": 2}


def test_wide_strip_is_downscaled_to_the_model_view() -> None:
    prepared = normalise_image(fakes.wide_png((10_000, 100)))
    im = _sent(prepared)
    assert im.size == (2048, 21) and prepared.format == "PNG"
    assert prepared.tokens() == 104 == image_tokens(10_000, 100)
    assert prepared.sent_bytes < prepared.original_bytes
    # Under the 2025 rule the model keeps 10000x100 (1252 patches): nothing to shrink.
    legacy = normalise_image(fakes.wide_png((10_000, 100)), rule="patch_cap")
    assert legacy.size == (10_000, 100) and legacy.unchanged and legacy.tokens() == 2029


@pytest.fixture(scope="module")
def big_photo() -> bytes:
    return fakes.big_photo_jpeg((6000, 4000))


def test_24_megapixel_jpeg_is_downscaled_with_unchanged_tokens(big_photo: bytes) -> None:
    assert len(big_photo) > 3_000_000
    prepared = normalise_image(big_photo, filename="camera.jpg")
    im = _sent(prepared)
    assert (im.size, im.mode, prepared.format) == ((2048, 1366), "RGB", "JPEG")
    assert (prepared.original_width, prepared.original_height) == (6000, 4000)
    assert prepared.tokens_by_detail == {d: image_tokens(6000, 4000, d) for d in DETAILS}
    assert prepared.tokens() == 4459
    assert prepared.sent_bytes * 10 <= prepared.original_bytes
    assert prepared.original_bytes == len(big_photo)
    assert prepared.notes == (
        "downscaled from 6000x4000 to 2048x1366, the size GPT-4.1 mini uses anyway (token count unchanged)",
        f"re-encoded as JPEG (quality {JPEG_QUALITY})",
    )
    # The content survived: the mean colour is close to the original's.
    original_mean = ImageStat.Stat(Image.open(io.BytesIO(big_photo)).reduce(8)).mean
    assert all(abs(a - b) < 4 for a, b in zip(ImageStat.Stat(im).mean, original_mean, strict=True))


def test_24_megapixel_jpeg_for_legacy_rule_and_tile_model(big_photo: bytes) -> None:
    legacy = normalise_image(big_photo, rule="patch_cap")
    assert _sent(legacy).size == model_view_size(6000, 4000, rule="patch_cap") == (1536, 1024)
    assert legacy.tokens() == image_tokens(6000, 4000, rule="patch_cap") == 2489  # 48*32 patches
    tile = normalise_image(big_photo, model="gpt-4o")
    assert _sent(tile).size == (1152, 768)
    assert tile.tokens_by_detail == {"auto": 1105, "low": 85, "high": 1105}


def test_photo_stored_as_png_goes_out_as_jpeg_when_smaller() -> None:
    prepared = normalise_image(fakes.encode(fakes.photo_like(2300, 900), "PNG"))
    assert prepared.format == "JPEG" and _sent(prepared).size == (2048, 802)
    assert prepared.sent_bytes * 3 < prepared.original_bytes


def test_original_kept_when_reencoding_would_not_shrink_it() -> None:
    data = fakes.encode(fakes.photo_like(2100, 1000), "JPEG", quality=30)
    prepared = normalise_image(data)
    assert prepared.unchanged and prepared.data == data and prepared.size == (2100, 1000)
    assert prepared.tokens() == image_tokens(2048, 976)
    assert prepared.notes[-1].startswith("kept the original 2100x1000 file")


def test_data_url_roundtrip() -> None:
    prepared = normalise_image(fakes.one_pixel_png())
    url = prepared.data_url()
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == prepared.data


def test_tokens_rejects_unknown_detail() -> None:
    with pytest.raises(ValueError, match="detail"):
        normalise_image(fakes.one_pixel_png()).tokens("ultra")  # type: ignore[arg-type]


def test_corpus_can_be_written_to_a_directory(tmp_path) -> None:
    written = fakes.write_corpus(tmp_path, skip={"big_photo"})
    assert set(written) == set(fakes.CORPUS) - {"big_photo"}
    for path in written.values():
        assert path.exists() and path.parent == tmp_path


# ---------------------------------------------------------------------------------------------
# Preview


def test_preview_draws_the_patch_grid_on_the_model_view() -> None:
    prepared = normalise_image(fakes.encode(Image.new("RGB", (1800, 2400), (255, 255, 255)), "PNG"))
    assert prepared.size == (1536, 2048)
    preview = preview_with_grid(prepared, max_side=1024)
    assert preview.mode == "RGBA" and preview.size == (768, 1024)  # half scale: 16 px per patch
    on_line, beside = preview.getpixel((16, 100)), preview.getpixel((24, 100))
    assert beside == (255, 255, 255, 255)
    assert on_line != beside and on_line[0] > on_line[1]  # magenta-tinted, white still shows through
    assert on_line[1] > 0


def test_preview_pads_partial_cells_and_uses_tiles_for_tile_models() -> None:
    image = Image.new("RGB", (1024, 1024), (255, 255, 255))
    preview = preview_with_grid(image, "gpt-4o", max_side=2048)
    # The model sees 768x768, cut into 2x2 tiles of 512: the canvas covers the whole tiles.
    assert preview.size == (1024, 1024)
    assert preview.getpixel((700, 100)) == (255, 255, 255, 255)
    assert preview.getpixel((900, 100)) == (40, 40, 40, 255)  # outside the image, inside a tile
    assert preview.getpixel((512, 100)) not in ((255, 255, 255, 255), (40, 40, 40, 255))
    assert preview.getpixel((300, 100)) == (255, 255, 255, 255)  # no 32-px lines on a tile model


def test_preview_of_a_strip_and_of_raw_bytes() -> None:
    preview = preview_with_grid(Image.new("L", (10_000, 100), 128))
    assert preview.size == (1024, 16)  # view 2048x21 -> one row of 64 patches, at half scale
    from_bytes = preview_with_grid(fakes.one_pixel_png())
    assert from_bytes.size == (32, 32)  # one whole patch; the pixel itself is top-left
    assert from_bytes.getpixel((0, 0)) == (255, 0, 0, 255)
    assert from_bytes.getpixel((20, 20)) == (40, 40, 40, 255)


def test_preview_takes_a_registry_model_spec_as_well_as_a_name() -> None:
    # Regression (mypy): a PreparedImage with a ModelSpec raised AttributeError in resolve_model.
    prepared = normalise_image(fakes.encode(Image.new("RGB", (1800, 2400), (255, 255, 255)), "PNG"), rule="patch_cap")
    spec = resolve_model("gpt-4.1-mini")
    by_spec, by_name = preview_with_grid(prepared, spec), preview_with_grid(prepared, "gpt-4.1-mini")
    assert by_spec.size == by_name.size == preview_with_grid(prepared).size
    # Prepared for this model under the 2025 rule: the preview keeps that rule (1536-patch cap).
    view = model_view_size(1800, 2400, rule="patch_cap")
    assert prepared.size == view and by_spec.size == (round(1024 * view[0] / view[1] / 32) * 32, 1024)
    assert preview_with_grid(prepared, resolve_model("gpt-4o")).size == (1024, 1024)  # 2 x 3 tiles, scaled


def test_token_arithmetic_never_loads_pillow() -> None:
    code = "import sys, playground.vision.tokens, playground.conversation; print('PIL' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# ---------------------------------------------------------------------------------------------
# Metadata: none of it is sent, whatever path the image takes


def _carries_no_metadata(prepared: PreparedImage) -> Image.Image:
    im = _sent(prepared)
    assert not scan_metadata(prepared.data, prepared.format).found
    assert not dict(im.getexif()) and not getattr(im, "text", {})
    assert not {"exif", "xmp", "comment", "icc_profile", "XML:com.adobe.xmp"} & set(im.info)
    for secret in (b"Jane Doe", b"PhoneMaker", b"GPS", fakes.TRAILER):
        assert secret not in prepared.data
    return im


def test_jpeg_with_gps_exif_goes_out_without_it_and_upright() -> None:
    data = fakes.gps_exif_jpeg((600, 400), orientation=6)
    prepared = normalise_image(data, filename="phone.jpg")
    im = _carries_no_metadata(prepared)
    assert im.size == (400, 600)  # orientation applied to the pixels, not left to a tag
    assert im.getpixel((390, 10))[0] > 200 and im.getpixel((390, 10))[1] < 60  # stored top-left now top-right
    assert prepared.metadata.has_gps
    assert prepared.notes[0] == "metadata removed: GPS, EXIF, XMP, comments, data after the image"


def test_png_with_megabytes_of_text_chunks_is_sent_small_and_lossless() -> None:
    data = fakes.png_with_text_chunks((200, 150), text_bytes=6_000_000)
    assert len(data) > 6_000_000
    prepared = normalise_image(data, filename="chunky.png")
    im = _carries_no_metadata(prepared)
    assert prepared.sent_bytes < 10_000 and prepared.as_uploaded and not prepared.unchanged
    assert (prepared.format, im.size) == ("PNG", (200, 150))
    original = Image.open(io.BytesIO(data)).convert("RGB")
    assert ImageChops.difference(im.convert("RGB"), original).getbbox() is None  # same pixels
    assert prepared.notes == ("metadata removed: GPS, 6 MB of text, XMP, EXIF, data after the image",)


def test_jpeg_metadata_is_cut_out_without_re_encoding() -> None:
    data = fakes.gps_exif_jpeg((300, 200), orientation=1)
    prepared = normalise_image(data)
    _carries_no_metadata(prepared)
    assert prepared.as_uploaded and prepared.format == "JPEG"
    # The compressed pixel data is the upload's own: the scan (SOS to EOI) is kept byte for byte.
    scan_start = data.index(b"\xff\xda")
    assert data[scan_start : data.index(b"\xff\xd9", scan_start) + 2] in prepared.data


@pytest.mark.parametrize(
    ("factory", "found"),
    [
        (fakes.webp_with_metadata, "GPS, colour profile, EXIF, XMP"),
        (fakes.gif_with_comment, "comments, data after the image"),
    ],
)
def test_webp_and_gif_metadata_is_removed(factory, found: str) -> None:
    prepared = normalise_image(factory((200, 150)))
    im = _carries_no_metadata(prepared)
    assert prepared.as_uploaded and im.size == (200, 150)
    assert f"metadata removed: {found}" in prepared.notes


def test_re_encoded_images_carry_no_metadata_either() -> None:
    # Downscaled (re-encoded from pixels): a big photo with GPS EXIF and an sRGB profile.
    exif = fakes.camera_exif()
    data = fakes.encode(fakes.photo_like(3000, 2000), "JPEG", exif=exif, icc_profile=fakes.srgb_profile())
    prepared = normalise_image(data)
    _carries_no_metadata(prepared)
    assert prepared.size == (2048, 1366) and not prepared.as_uploaded
    assert prepared.notes[0] == "metadata removed: GPS, EXIF, colour profile"


def test_a_file_whose_structure_cannot_be_walked_is_rebuilt_from_its_pixels(monkeypatch) -> None:
    from playground.vision import normalise

    monkeypatch.setattr(normalise, "scan_metadata", lambda data, fmt: MetadataScan(format=fmt, complete=False))
    prepared = normalise.normalise_image(fakes.png_with_text_chunks((200, 150), text_bytes=100_000))
    assert not prepared.as_uploaded and prepared.sent_bytes < 10_000
    assert b"lorem" not in prepared.data and fakes.TRAILER not in prepared.data
    assert "its file structure could not be checked for metadata: re-encoded from its pixels" in prepared.notes


def test_every_corpus_image_that_is_accepted_goes_out_clean() -> None:
    for key, factory in fakes.CORPUS.items():
        filename, data = factory()
        try:
            prepared = normalise_image(data, filename=filename)
        except PlaygroundError:
            continue
        assert not scan_metadata(prepared.data, prepared.format).found, key


@pytest.mark.parametrize(
    "params", [{"progressive": True}, {"restart_marker_blocks": 4}, {"progressive": True, "restart_marker_rows": 2}]
)
def test_jpeg_layouts_with_several_scans_or_restarts_are_walked_to_their_end(params: dict[str, object]) -> None:
    photo = fakes.photo_like(400, 300)
    data = fakes.encode(photo, "JPEG", exif=fakes.camera_exif(), xmp=fakes.XMP_WITH_GPS, comment=b"c", **params)
    scan = scan_metadata(data, "JPEG")
    assert scan.complete and [block.kind for block in scan.blocks] == ["exif", "xmp", "comment"]
    prepared = normalise_image(data)
    _carries_no_metadata(prepared)
    assert prepared.as_uploaded  # cut out, not re-encoded: the same pixels
    same = ImageChops.difference(Image.open(io.BytesIO(data)).convert("RGB"), _sent(prepared).convert("RGB"))
    assert same.getbbox() is None


def test_colours_in_another_rgb_profile_are_converted_to_srgb_and_the_profile_is_not_sent() -> None:
    grey = Image.new("RGB", (120, 80), (128, 128, 128))
    prepared = normalise_image(fakes.encode(grey, "PNG", icc_profile=fakes.linear_rgb_profile()))
    im = _carries_no_metadata(prepared)
    assert im.getpixel((10, 10)) == (188, 188, 188)  # linear mid-grey, as sRGB: what the user saw
    assert "colours converted from Linear RGB test to sRGB" in prepared.notes
    assert prepared.notes[0] == "metadata removed: colour profile"


@pytest.mark.parametrize(
    "profile", [fakes.srgb_profile, lambda: ImageCms.ImageCmsProfile(ImageCms.createProfile("XYZ")).tobytes()]
)
def test_an_srgb_or_non_rgb_profile_is_only_cut_out(profile) -> None:
    grey = Image.new("RGB", (120, 80), (128, 128, 128))
    data = fakes.encode(grey, "JPEG", quality=90, icc_profile=profile())
    prepared = normalise_image(data)
    im = _carries_no_metadata(prepared)
    assert prepared.as_uploaded and abs(im.getpixel((10, 10))[0] - 128) <= 2
