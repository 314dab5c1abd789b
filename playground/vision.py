"""Image input: token estimates, one normalisation pipeline, and a "what the model sees" preview.

Everything model-specific comes from the registry (``models.toml``): the image rule of each model
(32-px patches or 512-px tiles, with their parameters) and the ``[image_input]`` limits (accepted
formats, pixel cap, per-provider byte caps). This module holds no figures of its own.

Public surface:

* :func:`estimate_image` / :func:`image_tokens` / :func:`model_view_size` / :func:`grid_cell_size`
  -- how many tokens an image of a given size costs, the size the model actually looks at, and the
  grid (patches or tiles) it is cut into.
* :func:`normalise_image` -- validate an upload (by content, never by file name), fix orientation,
  frames and colour modes, shrink it to the size the model would use anyway (the token count is
  unchanged, the payload much smaller) and return a :class:`PreparedImage` ready to send.
* :func:`preview_with_grid` -- the image as the model sees it, with its grid drawn over it.

Every problem with an upload is raised as :class:`~playground.errors.PlaygroundError` with
``kind=ErrorKind.INVALID_INPUT`` and a message a user can act on.
"""

from __future__ import annotations

import base64
import io
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal, get_args

from PIL import Image, ImageCms, ImageDraw, ImageOps, UnidentifiedImageError

from playground.connection import PROVIDER_LABELS
from playground.errors import ErrorKind, PlaygroundError
from playground.registry import (
    ImageInputLimits,
    ModelSpec,
    PatchImageRule,
    TileImageRule,
    image_input_limits,
    resolve_model,
)

__all__ = [
    "DETAILS",
    "JPEG_QUALITY",
    "Detail",
    "ImageEstimate",
    "ImageRule",
    "PatchRuleName",
    "PreparedImage",
    "estimate_image",
    "grid_cell_size",
    "image_tokens",
    "model_view_size",
    "normalise_image",
    "preview_with_grid",
]

Detail = Literal["auto", "low", "high"]
DETAILS: tuple[Detail, ...] = get_args(Detail)
PatchRuleName = Literal["fit_then_budget", "patch_cap"]
ImageRule = PatchImageRule | TileImageRule

#: JPEG quality used when a photo is re-encoded (high enough that the model sees no artefacts).
JPEG_QUALITY = 87

_EXIF_ORIENTATION = 0x0112
_SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})
_ORIENTATION_TEXT = {
    2: "mirrored",
    3: "rotated 180°",
    4: "flipped vertically",
    5: "mirrored and rotated 90°",
    6: "rotated 90° clockwise",
    7: "mirrored and rotated 90°",
    8: "rotated 90° counter-clockwise",
}
# Slack for float error when a scaled side lands (mathematically) exactly on an integer.
_EPS = 1e-6
# Modes an upload may be sent in unchanged; anything else (CMYK, 16-bit, ...) is converted.
_SENDABLE_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA"})


# ---------------------------------------------------------------------------------------------
# Token estimates


@dataclass(frozen=True)
class ImageEstimate:
    """How a model sees an image of ``width`` x ``height`` pixels and what it costs.

    ``view_width`` x ``view_height`` is the size the model resizes the image to; the model cuts
    that view into ``columns`` x ``rows`` cells of ``cell`` pixels (32-px patches or 512-px tiles;
    the last row/column may stick out of the image). ``units`` is the number of patches or tiles
    counted and ``tokens`` the resulting input tokens. ``is_estimate`` is True when the model name
    was not found in the registry and the default entry's rule was used.
    """

    model: str
    method: Literal["patch", "tile"]
    rule: str
    detail: Detail
    width: int
    height: int
    view_width: int
    view_height: int
    cell: int
    columns: int
    rows: int
    units: int
    tokens: int
    is_estimate: bool = False

    @property
    def view_size(self) -> tuple[int, int]:
        return self.view_width, self.view_height

    @property
    def resized(self) -> bool:
        """True when the model looks at a smaller version of the image."""
        return (self.view_width, self.view_height) != (self.width, self.height)


def _ceil_side(value: float) -> int:
    """A scaled side length in whole pixels (rounded up, float noise ignored, at least 1)."""
    return max(1, math.ceil(value - _EPS))


def _cells(side: int, cell: int) -> int:
    return -(-side // cell)


def _fit_inside(width: int, height: int, box: int) -> tuple[int, int]:
    """Fit inside a ``box`` x ``box`` square keeping the aspect ratio; never enlarge."""
    scale = min(1.0, box / max(width, height))
    if scale >= 1.0:
        return width, height
    return _ceil_side(width * scale), _ceil_side(height * scale)


def _shrink_to_patch_cap(width: int, height: int, patch: int, cap: int) -> tuple[int, int]:
    """Scale down so that at most ``cap`` patches cover the image (the 2025 docs' formula).

    r = sqrt(patch² * cap / (w * h)), then r *= min(floor(w*r/patch)/(w*r/patch),
    floor(h*r/patch)/(h*r/patch)): one side lands on a whole number of patches and the other
    fits in its floor, so ceil(w'/patch) * ceil(h'/patch) <= cap.
    """
    if _cells(width, patch) * _cells(height, patch) <= cap:
        return width, height
    ratio = math.sqrt(patch * patch * cap / (width * height))
    w_patches, h_patches = width * ratio / patch, height * ratio / patch
    ratio *= min(
        math.floor(w_patches + _EPS) / w_patches if w_patches >= 1 else 1.0,
        math.floor(h_patches + _EPS) / h_patches if h_patches >= 1 else 1.0,
    )
    return _ceil_side(width * ratio), _ceil_side(height * ratio)


def _resolve_rule(model: str | ModelSpec, rule: PatchRuleName | ImageRule | None) -> tuple[ModelSpec, ImageRule]:
    spec = model if isinstance(model, ModelSpec) else resolve_model(model)
    if rule is None:
        return spec, spec.image
    if isinstance(rule, PatchImageRule | TileImageRule):
        return spec, rule
    if rule not in get_args(PatchRuleName):
        raise ValueError(f"unknown image rule {rule!r}; expected one of {get_args(PatchRuleName)}")
    if not isinstance(spec.image, PatchImageRule):
        raise ValueError(f"{spec.id} counts 512-px tiles; the rule {rule!r} applies to patch models only")
    return spec, spec.image.model_copy(update={"rule": rule})


def estimate_image(
    width: int,
    height: int,
    detail: Detail = "auto",
    model: str | ModelSpec = "gpt-4.1-mini",
    *,
    rule: PatchRuleName | ImageRule | None = None,
) -> ImageEstimate:
    """The view size, grid and token count of a ``width`` x ``height`` image for ``model``.

    Parameters come from the registry entry of ``resolve_model(model)``. ``rule`` overrides the
    entry's rule without editing the registry: a patch rule name (``"fit_then_budget"``, current
    docs; ``"patch_cap"``, 2025 docs) keeps the entry's other parameters, or pass a whole rule object.

    * patch / fit_then_budget: fit inside max_side x max_side (never enlarge), patches =
      ceil(w/32) * ceil(h/32), shrink if over patch_budget; tokens = ceil(patches * multiplier).
      ``detail`` does not change anything for these models.
    * patch / patch_cap: if more than legacy_patch_cap patches, shrink with the docs' formula.
    * tile, low: low_tokens flat (the model looks at a version fitting 512 x 512).
    * tile, high/auto: fit inside max_side, scale the shortest side down to short_side, count
      512-px tiles; tokens = base_tokens + tile_tokens * tiles.
    """
    if isinstance(width, bool) or isinstance(height, bool) or width < 1 or height < 1:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if detail not in DETAILS:
        raise ValueError(f"detail must be one of {DETAILS}, got {detail!r}")
    spec, image_rule = _resolve_rule(model, rule)
    width, height = int(width), int(height)

    if isinstance(image_rule, PatchImageRule):
        size = image_rule.patch_size
        if image_rule.rule == "fit_then_budget":
            view = _fit_inside(width, height, image_rule.max_side)
            view = _shrink_to_patch_cap(*view, size, image_rule.patch_budget)
        else:
            view = _shrink_to_patch_cap(width, height, size, image_rule.legacy_patch_cap)
        columns, rows = _cells(view[0], size), _cells(view[1], size)
        units = columns * rows
        tokens = math.ceil(units * Fraction(str(image_rule.multiplier)))
        method: Literal["patch", "tile"] = "patch"
        rule_name = image_rule.rule
    else:
        size = image_rule.tile_size
        if detail == "low":
            view = _fit_inside(width, height, image_rule.tile_size)
            columns = rows = units = 1
            tokens = image_rule.low_tokens
        else:
            view = _fit_inside(width, height, image_rule.max_side)
            shortest = min(view)
            if shortest > image_rule.short_side:
                scale = image_rule.short_side / shortest
                view = _ceil_side(view[0] * scale), _ceil_side(view[1] * scale)
            columns, rows = _cells(view[0], size), _cells(view[1], size)
            units = columns * rows
            tokens = image_rule.base_tokens + image_rule.tile_tokens * units
        method = "tile"
        rule_name = "tile"

    return ImageEstimate(
        model=spec.id,
        method=method,
        rule=rule_name,
        detail=detail,
        width=width,
        height=height,
        view_width=view[0],
        view_height=view[1],
        cell=size,
        columns=columns,
        rows=rows,
        units=units,
        tokens=tokens,
        is_estimate=spec.is_estimate,
    )


def image_tokens(
    width: int,
    height: int,
    detail: Detail = "auto",
    model: str | ModelSpec = "gpt-4.1-mini",
    *,
    rule: PatchRuleName | ImageRule | None = None,
) -> int:
    """Input tokens for one image of ``width`` x ``height`` pixels (see :func:`estimate_image`)."""
    return estimate_image(width, height, detail, model, rule=rule).tokens


def model_view_size(
    width: int,
    height: int,
    model: str | ModelSpec = "gpt-4.1-mini",
    detail: Detail = "auto",
    *,
    rule: PatchRuleName | ImageRule | None = None,
) -> tuple[int, int]:
    """The size the model resizes a ``width`` x ``height`` image to before counting it."""
    return estimate_image(width, height, detail, model, rule=rule).view_size


def grid_cell_size(model: str | ModelSpec = "gpt-4.1-mini", *, rule: PatchRuleName | ImageRule | None = None) -> int:
    """The side of the model's grid cell in view pixels: 32 (patches) or 512 (tiles)."""
    _, image_rule = _resolve_rule(model, rule)
    return image_rule.patch_size if isinstance(image_rule, PatchImageRule) else image_rule.tile_size


# ---------------------------------------------------------------------------------------------
# Normalisation


@dataclass(frozen=True)
class PreparedImage:
    """An upload after :func:`normalise_image`: what will be sent, and what was done to it.

    ``width`` x ``height`` is the size sent (after rotation and downscaling); ``original_width`` x
    ``original_height`` the pixel size stored in the upload. ``notes`` are human-readable lines
    about every change made. ``tokens_by_detail`` maps each detail level to its token count for
    ``model``; it is the same for the upload and for the sent image.
    """

    data: bytes
    mime_type: str
    format: str
    width: int
    height: int
    original_format: str
    original_width: int
    original_height: int
    original_bytes: int
    model: str
    provider: str
    tokens_by_detail: dict[str, int]
    notes: tuple[str, ...] = ()
    filename: str | None = None
    unchanged: bool = False
    is_estimate: bool = False
    rule: str = field(default="")

    @property
    def sent_bytes(self) -> int:
        return len(self.data)

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    def tokens(self, detail: Detail = "auto") -> int:
        """Input tokens for this image at ``detail`` (auto, low or high)."""
        if detail not in self.tokens_by_detail:
            raise ValueError(f"detail must be one of {DETAILS}, got {detail!r}")
        return self.tokens_by_detail[detail]

    def data_url(self) -> str:
        """The image as a ``data:`` URL (base64), as the chat completions API takes it."""
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode('ascii')}"


def format_bytes(count: int) -> str:
    """A byte count as people read it: 7 MB, 280 kB, 512 bytes."""
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f} MB".replace(".0 MB", " MB")
    if count >= 1_000:
        return f"{count / 1_000:.0f} kB"
    return f"{count} bytes"


def _fmt_size_vs_limit(count: int, limit: int) -> str:
    """``count`` bytes, precise enough not to read the same as ``limit``."""
    shown = format_bytes(count)
    return f"{count:,} bytes" if shown == format_bytes(limit) else shown


def _fmt_formats(formats: list[str]) -> str:
    return formats[0] if len(formats) == 1 else ", ".join(formats[:-1]) + " or " + formats[-1]


def _pixel_error(name: str, pixels: int | None, cap: int, size: tuple[int, int] | None = None) -> PlaygroundError:
    shown = f"{size[0]} x {size[1]} = " if size else ""
    count = f"{shown}{pixels:,} pixels" if pixels is not None else "too many pixels"
    return PlaygroundError.invalid_input(
        f"{name} has {count}; the limit is {cap:,} pixels (a file this large could exhaust the "
        "server's memory). Shrink it before uploading.",
        reason="too_many_pixels",
        pixels=pixels,
        limit=cap,
    )


def _bomb_error(name: str, exc: Exception, cap: int) -> PlaygroundError:
    """Pillow's own decompression-bomb guard fired: report the pixel count from its message."""
    match = re.search(r"\((\d+) pixels\)", str(exc))
    return _pixel_error(name, int(match.group(1)) if match else None, cap)


def _identify_other_format(data: bytes) -> str | None:
    """The format Pillow recognises with every plugin enabled (header only), or None."""
    try:
        with Image.open(io.BytesIO(data)) as other:
            return str(other.format)
    except Exception:  # any failure just means "not recognised"
        return None


def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # unreadable EXIF: treat as upright
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _frame_count(im: Image.Image) -> int:
    if not getattr(im, "is_animated", False):
        return 1
    try:
        return int(getattr(im, "n_frames", 2))
    except Exception:  # a broken later frame: we only send the first one anyway
        return 2


def _sixteen_bit_to_l(im: Image.Image) -> Image.Image:
    """Scale 16/32-bit grayscale to 8 bits (a plain convert("L") clips everything above 255)."""
    as_int = im if im.mode == "I" else im.convert("I")
    low, high = as_int.getextrema()
    if high <= 255 and low >= 0:
        return as_int.convert("L")
    top = 65535 if high <= 65535 else high
    return as_int.point(lambda v: v * (255 / top)).convert("L")


def _fix_mode(im: Image.Image, notes: list[str]) -> tuple[Image.Image, bool]:
    """Bring any mode to L, RGB or RGBA. Returns the image and whether colours were converted."""
    mode = im.mode
    if mode in ("L", "RGB", "RGBA"):
        return im, False
    if mode == "CMYK":
        profile = im.info.get("icc_profile")
        if profile:
            try:
                source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
                converted = ImageCms.profileToProfile(im, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
                if converted is not None:
                    notes.append("converted from CMYK to RGB using its colour profile")
                    return converted, True
            except Exception:  # a broken profile: fall back to the plain conversion
                pass
        notes.append("converted from CMYK to RGB")
        return im.convert("RGB"), True
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        notes.append("converted from 16-bit grayscale to 8-bit (scaled, not clipped)")
        return _sixteen_bit_to_l(im), True
    if mode in ("P", "PA"):
        if mode == "PA" or "transparency" in im.info:
            notes.append("palette image with transparency converted to RGBA")
            return im.convert("RGBA"), True
        notes.append("palette image converted to RGB")
        return im.convert("RGB"), True
    if mode == "LA":
        notes.append("grayscale image with alpha converted to RGBA")
        return im.convert("RGBA"), True
    if mode == "1":
        notes.append("1-bit image converted to 8-bit grayscale")
        return im.convert("L"), True
    notes.append(f"converted from {mode} to RGB")
    return im.convert("RGB"), True


def _encode(im: Image.Image, source_format: str, icc_profile: bytes | None) -> tuple[bytes, str, str]:
    """Encode L/RGB/RGBA: PNG when there is alpha, JPEG for photos, else whichever is smaller."""
    extra = {"icc_profile": icc_profile} if icc_profile else {}
    png = jpeg = None
    if im.mode == "RGBA" or source_format not in ("JPEG", "MPO"):
        buffer = io.BytesIO()
        im.save(buffer, "PNG", **extra)
        png = buffer.getvalue()
    if im.mode != "RGBA":
        buffer = io.BytesIO()
        im.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True, **extra)
        jpeg = buffer.getvalue()
    if jpeg is None:
        assert png is not None
        return png, "PNG", "sent as PNG to keep its transparency"
    if png is not None and len(png) <= len(jpeg):
        return png, "PNG", "re-encoded as PNG (smaller than JPEG, and lossless)"
    return jpeg, "JPEG", f"re-encoded as JPEG (quality {JPEG_QUALITY})"


def _provider_limits(limits: ImageInputLimits, provider: str) -> int:
    try:
        return limits.providers[provider].max_bytes
    except KeyError:
        raise PlaygroundError(
            kind=ErrorKind.CONFIGURATION,
            message=f"The model registry has no image limits for provider {provider!r} "
            f"(known: {', '.join(limits.providers)}).",
        ) from None


def normalise_image(
    data: bytes,
    *,
    filename: str | None = None,
    model: str | ModelSpec = "gpt-4.1-mini",
    provider: str = "openai",
    rule: PatchRuleName | ImageRule | None = None,
    flatten_alpha: bool = False,
) -> PreparedImage:
    """Validate an uploaded image and turn it into what is sent to ``model`` on ``provider``.

    Steps, in order: the provider's byte cap; the format allowlist, detected from the content
    (the file name is never trusted); the pixel cap, checked from the header before any pixel is
    decoded; a full decode (truncated or corrupt files fail here); EXIF orientation; the first
    frame of animations; colour modes (CMYK and 16-bit always, palette / grayscale+alpha / 1-bit
    when re-encoding anyway); downscaling to the size the model would use anyway (the token count
    is unchanged, and checked); re-encoding (PNG when there is transparency, JPEG for JPEG uploads,
    otherwise whichever of PNG and JPEG is smaller). An upload that needs none of this is sent
    byte for byte. Images are never enlarged.

    Transparency is kept (as PNG) unless ``flatten_alpha`` is True, which composites onto white
    and allows JPEG. ``rule`` overrides the registry's patch rule (see :func:`estimate_image`).
    Raises :class:`PlaygroundError` (``INVALID_INPUT``) with a specific message for every bad upload.
    """
    limits = image_input_limits()
    spec, image_rule = _resolve_rule(model, rule)
    max_bytes = _provider_limits(limits, provider)
    cap = limits.max_input_pixels
    allowed = [fmt.upper() for fmt in limits.formats]
    name = f"“{filename}”" if filename else "The image"
    data = bytes(data)

    # 1. Byte cap.
    if not data:
        raise PlaygroundError.invalid_input(f"{name} is empty (0 bytes).", reason="empty")
    if len(data) > max_bytes:
        raise PlaygroundError.invalid_input(
            f"{name} is {_fmt_size_vs_limit(len(data), max_bytes)}; the limit for "
            f"{PROVIDER_LABELS.get(provider, provider)} is {format_bytes(max_bytes)} per image. "
            "Use a smaller or more compressed file.",
            reason="too_many_bytes",
            bytes=len(data),
            limit=max_bytes,
        )

    # 2. Format, by content. Pillow reads the header only here.
    try:
        im = Image.open(io.BytesIO(data), formats=allowed)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _bomb_error(name, exc, cap) from None
    except UnidentifiedImageError:
        other = _identify_other_format(data)
        if other is not None:
            raise PlaygroundError.invalid_input(
                f"{name} is a {other} image; only {_fmt_formats(allowed)} images are accepted. "
                "Convert it to one of those formats.",
                reason="unsupported_format",
                format=other,
                accepted=allowed,
            ) from None
        raise PlaygroundError.invalid_input(
            f"{name} is not an image file we can read (whatever its name says). "
            f"Accepted formats: {_fmt_formats(allowed)}.",
            reason="not_an_image",
            accepted=allowed,
        ) from None
    except Exception as exc:  # a header so broken that the format plugin itself fails
        raise PlaygroundError.invalid_input(
            f"{name} looks like an image but its header is damaged: it cannot be read.",
            reason="corrupt",
            error=str(exc),
        ) from None

    notes: list[str] = []
    with im:
        is_jpeg = im.format in ("JPEG", "MPO")
        source_format = "JPEG" if is_jpeg else str(im.format)
        stored = im.size

        # 3. Pixel cap, from the header: nothing has been decoded yet.
        if stored[0] * stored[1] > cap:
            raise _pixel_error(name, stored[0] * stored[1], cap, stored)

        if filename and "." in filename:
            ext = "." + filename.rsplit(".", 1)[1].lower()
            by_name = Image.registered_extensions().get(ext)
            if by_name and by_name not in (source_format, im.format):
                notes.append(f"the file name says {ext} but the content is {source_format}: read as such")

        frames = _frame_count(im)
        if frames > 1:
            im.seek(0)

        # The size the model will use, known from the header. JPEG: decode with DCT scaling
        # (1/2, 1/4 or 1/8, never below that size) -- the big win for camera photos.
        orientation = _orientation(im) if is_jpeg else 1
        if is_jpeg:
            oriented = stored[::-1] if orientation in _SWAPPING_ORIENTATIONS else stored
            target = estimate_image(*oriented, "high", spec, rule=image_rule).view_size
            if target != oriented:
                im.draft(im.mode, target[::-1] if orientation in _SWAPPING_ORIENTATIONS else target)

        # 4. Full decode: truncated or corrupt files fail here, not later.
        try:
            im.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _bomb_error(name, exc, cap) from None
        except MemoryError:
            raise PlaygroundError.invalid_input(
                f"{name} is too large to decode on this server.", reason="memory"
            ) from None
        except Exception as exc:
            raise PlaygroundError.invalid_input(
                f"{name} is damaged or incomplete (the file may have been cut off during upload or "
                "saving), so it cannot be decoded. Re-export or re-upload it.",
                reason="corrupt",
                error=str(exc),
            ) from None
        if not is_jpeg:  # PNG and WebP may keep EXIF after the pixel data
            orientation = _orientation(im)

        # 5. EXIF orientation.
        work: Image.Image = im
        if orientation != 1:
            try:
                work = ImageOps.exif_transpose(im)
                notes.append(f"{_ORIENTATION_TEXT[orientation]} per its EXIF orientation tag")
            except Exception:  # corrupt EXIF: send as stored
                orientation = 1
                notes.append("its EXIF orientation tag could not be applied: sent as stored")
        rotated = orientation != 1
        oriented = stored[::-1] if orientation in _SWAPPING_ORIENTATIONS else stored
        target = estimate_image(*oriented, "high", spec, rule=image_rule).view_size

        # 6. First frame of animations (the frame decoded above).
        if frames > 1:
            kind = "multi-picture JPEG (MPO)" if im.format == "MPO" else f"animated {source_format}"
            notes.append(f"{kind} with {frames} frames: only the first frame is sent")

        has_alpha = work.mode in ("RGBA", "LA", "PA") or (work.mode == "P" and "transparency" in work.info)
        resized = target != oriented
        must_encode = (
            rotated or frames > 1 or resized or work.mode not in _SENDABLE_MODES or (flatten_alpha and has_alpha)
        )
        icc_profile = im.info.get("icc_profile")

        if not must_encode:
            out, out_format, sent_size, unchanged = data, source_format, stored, True
        else:
            # 7. Colour modes: L, RGB or RGBA from here on.
            work, converted = _fix_mode(work, notes)
            if converted:
                icc_profile = None  # the profile described the old colour space
            # 8. Downscale to the size the model uses anyway (never enlarge: target <= size).
            encode_notes: list[str] = []
            if work.size != target:
                work = work.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
                encode_notes.append(
                    f"downscaled from {oriented[0]}x{oriented[1]} to {target[0]}x{target[1]}, the "
                    f"size {spec.label} uses anyway (token count unchanged)"
                )
            if work.mode == "RGBA":
                if work.getchannel("A").getextrema()[0] == 255:
                    work = work.convert("RGB")
                    encode_notes.append("its alpha channel is fully opaque: dropped")
                elif flatten_alpha:
                    background = Image.new("RGBA", work.size, (255, 255, 255, 255))
                    work = Image.alpha_composite(background, work).convert("RGB")
                    encode_notes.append("transparency flattened onto white")
            # 9. Re-encode.
            out, out_format, how = _encode(work, source_format, icc_profile)
            sent_size, unchanged = work.size, False
            only_resized = not (rotated or frames > 1 or converted or (flatten_alpha and has_alpha))
            if only_resized and len(out) >= len(data):
                out, out_format, sent_size, unchanged = data, source_format, stored, True
                notes.append(
                    f"kept the original {oriented[0]}x{oriented[1]} file: the model downscales it to "
                    f"{target[0]}x{target[1]} itself, and re-encoding would not make it smaller"
                )
            else:
                notes.extend([*encode_notes, how])

        # The token count must not move: the sent image is what the model would look at anyway.
        before = {d: estimate_image(*oriented, d, spec, rule=image_rule).tokens for d in DETAILS}
        after = {d: estimate_image(*sent_size, d, spec, rule=image_rule).tokens for d in DETAILS}
        if before != after:  # an invariant of estimate_image; raised explicitly so -O keeps it
            raise AssertionError(f"normalisation changed the token count: {before} -> {after}")

    if len(out) > max_bytes:
        raise PlaygroundError.invalid_input(
            f"{name} is still {_fmt_size_vs_limit(len(out), max_bytes)} after shrinking it; the limit "
            f"for {PROVIDER_LABELS.get(provider, provider)} is {format_bytes(max_bytes)} per image.",
            reason="too_many_bytes",
            bytes=len(out),
            limit=max_bytes,
        )

    return PreparedImage(
        data=out,
        mime_type=Image.MIME.get(out_format, f"image/{out_format.lower()}"),
        format=out_format,
        width=sent_size[0],
        height=sent_size[1],
        original_format=source_format,
        original_width=stored[0],
        original_height=stored[1],
        original_bytes=len(data),
        model=spec.id,
        provider=provider,
        tokens_by_detail=before,
        notes=tuple(notes),
        filename=filename,
        unchanged=unchanged,
        is_estimate=spec.is_estimate,
        rule=image_rule.rule if isinstance(image_rule, PatchImageRule) else "tile",
    )


# ---------------------------------------------------------------------------------------------
# Preview

_GRID_COLOUR = (255, 0, 200, 150)
_PADDING_COLOUR = (40, 40, 40, 255)
_BACKGROUND = (255, 255, 255, 255)


def preview_with_grid(
    source: PreparedImage | Image.Image | bytes,
    model: str | ModelSpec | None = None,
    *,
    detail: Detail = "auto",
    rule: PatchRuleName | ImageRule | None = None,
    max_side: int = 1024,
) -> Image.Image:
    """The image as ``model`` sees it, with its grid (32-px patches or 512-px tiles) drawn over it.

    The canvas covers whole grid cells: the part of the last row/column of cells outside the image
    (counted by the model, but empty) is dark grey. When the canvas would exceed ``max_side``
    pixels it is drawn at a smaller scale; the lines still sit on the model's cell boundaries.
    ``source`` may be a :class:`PreparedImage`, a Pillow image (used as it is) or raw bytes
    (normalised first). ``model`` defaults to the prepared image's model, else gpt-4.1-mini.
    Returns an RGBA image.
    """
    if isinstance(source, bytes | bytearray):
        source = normalise_image(bytes(source), model=model or "gpt-4.1-mini", rule=rule)
    if isinstance(source, PreparedImage):
        model = model or source.model
        if rule is None and source.rule in get_args(PatchRuleName) and source.model == resolve_model(model).id:
            rule = source.rule  # type: ignore[assignment]  # the rule it was prepared with
        with Image.open(io.BytesIO(source.data)) as opened:
            opened.load()
            image = opened.copy()
    else:
        image = source
    model = model or "gpt-4.1-mini"

    est = estimate_image(image.width, image.height, detail, model, rule=rule)
    grid_w, grid_h = est.columns * est.cell, est.rows * est.cell
    scale = min(1.0, max_side / max(grid_w, grid_h))
    canvas_size = (max(1, round(grid_w * scale)), max(1, round(grid_h * scale)))
    shown = (
        min(canvas_size[0], max(1, round(est.view_width * scale))),
        min(canvas_size[1], max(1, round(est.view_height * scale))),
    )

    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.mode or "transparency" in image.info else "RGB")
    if image.size != shown:
        image = image.resize(shown, Image.Resampling.BILINEAR, reducing_gap=2.0)
    image = image.convert("RGBA")

    canvas = Image.new("RGBA", canvas_size, _PADDING_COLOUR)
    canvas.paste(Image.new("RGBA", shown, _BACKGROUND), (0, 0))
    canvas.alpha_composite(image, (0, 0))

    overlay = Image.new("RGBA", canvas_size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    width = 2 if est.method == "tile" and scale >= 0.25 else 1
    for column in range(1, est.columns):
        x = round(column * est.cell * scale)
        draw.line([(x, 0), (x, canvas_size[1] - 1)], fill=_GRID_COLOUR, width=width)
    for row in range(1, est.rows):
        y = round(row * est.cell * scale)
        draw.line([(0, y), (canvas_size[0] - 1, y)], fill=_GRID_COLOUR, width=width)
    canvas.alpha_composite(overlay)
    return canvas
