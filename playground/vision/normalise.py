"""An upload turned into what is sent to the model: one function per step, run by :func:`normalise_image`.

Steps, in order: the provider's byte cap (:func:`check_byte_cap`); the format, detected from the
content, and the pixel cap, from the header (:func:`open_safely`); a full decode, so truncated or
corrupt files fail here (:func:`decode`); EXIF orientation applied to the pixels
(:func:`apply_orientation`); the first frame of an animation (:func:`first_frame`); colour modes
(:func:`to_sendable_mode`: CMYK, 16-bit, palette, ...); colours to sRGB (:func:`to_srgb`);
downscaling to the size the model uses anyway (:func:`downscale`); encoding (:func:`encode`).

Metadata (EXIF with GPS, XMP, colour profile, text chunks, comments, trailing data) never leaves:
an image that needs no other change is sent as uploaded minus its metadata parts (lossless, see
:mod:`playground.vision.metadata`), any other is re-encoded from its pixels, which writes none.
The colour profile is not sent either: pixels described by another profile are converted to sRGB,
the colour space the model and the browser assume for an image without one.

Every problem with an upload is raised as :class:`~playground.errors.PlaygroundError` with
``kind=ErrorKind.INVALID_INPUT`` and a message a user can act on.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass, field

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from playground.connection import PROVIDER_LABELS
from playground.errors import ErrorKind, PlaygroundError
from playground.registry import ImageInputLimits, ModelSpec, PatchImageRule, image_input_limits
from playground.vision.metadata import MetadataScan, format_bytes, scan_metadata
from playground.vision.tokens import (
    DETAILS,
    Detail,
    ImageRule,
    PatchRuleName,
    RuleName,
    estimate_image,
    resolve_rule,
)

__all__ = [
    "JPEG_QUALITY",
    "PreparedImage",
    "apply_orientation",
    "check_byte_cap",
    "decode",
    "downscale",
    "encode",
    "first_frame",
    "format_bytes",
    "normalise_image",
    "open_safely",
    "to_sendable_mode",
    "to_srgb",
]

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
# Modes an upload may be sent in unchanged; anything else (CMYK, 16-bit, ...) is converted.
_SENDABLE_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA"})
# The only image info an encoder may carry over: palette transparency is part of the pixels.
_PIXEL_INFO = ("transparency",)
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@dataclass(frozen=True)
class PreparedImage:
    """An upload after :func:`normalise_image`: what will be sent, and what was done to it.

    ``width`` x ``height`` is the size sent (after rotation and downscaling); ``original_width`` x
    ``original_height`` the pixel size stored in the upload. ``notes`` are human-readable lines
    about every change made. ``tokens_by_detail`` maps each detail level to its token count for
    ``model``; it is the same for the upload and for the sent image. ``as_uploaded``: the upload's
    own image data is sent, minus its metadata; ``unchanged``: byte for byte (it had none).
    ``metadata``: what the upload carried besides its pixels (none of it is sent).
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
    tokens_by_detail: dict[Detail, int]
    notes: tuple[str, ...] = ()
    filename: str | None = None
    unchanged: bool = False
    as_uploaded: bool = False
    is_estimate: bool = False
    rule: RuleName = "fit_then_budget"
    metadata: MetadataScan = field(default_factory=lambda: MetadataScan(format=""))

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


# --- messages ---------------------------------------------------------------------------------
def _fmt_size_vs_limit(count: int, limit: int) -> str:
    """``count`` bytes, precise enough not to read the same as ``limit``."""
    shown = format_bytes(count)
    return f"{count:,} bytes" if shown == format_bytes(limit) else shown


def format_list(items: list[str]) -> str:
    """``["PNG", "JPEG", "GIF"]`` as ``"PNG, JPEG or GIF"``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


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


def provider_byte_cap(limits: ImageInputLimits, provider: str) -> int:
    """The provider's per-image byte limit (registry data)."""
    try:
        return limits.providers[provider].max_bytes
    except KeyError:
        raise PlaygroundError(
            kind=ErrorKind.CONFIGURATION,
            message=f"The model registry has no image limits for provider {provider!r} "
            f"(known: {', '.join(limits.providers)}).",
        ) from None


# --- steps ------------------------------------------------------------------------------------
def check_byte_cap(data: bytes, name: str, max_bytes: int, provider: str) -> None:
    """Refuse an empty upload, or one over the provider's per-image byte limit."""
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


def open_safely(data: bytes, name: str, accepted: list[str], max_pixels: int) -> Image.Image:
    """Open ``data`` as one of the ``accepted`` formats, judged by its content (never its name).

    Reads the header only, and refuses more than ``max_pixels`` before any pixel is decoded.
    """
    try:
        im = Image.open(io.BytesIO(data), formats=accepted)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _bomb_error(name, exc, max_pixels) from None
    except UnidentifiedImageError:
        other = _identify_other_format(data)
        if other is not None:
            raise PlaygroundError.invalid_input(
                f"{name} is a {other} image; only {format_list(accepted)} images are accepted. "
                "Convert it to one of those formats.",
                reason="unsupported_format",
                format=other,
                accepted=accepted,
            ) from None
        raise PlaygroundError.invalid_input(
            f"{name} is not an image file we can read (whatever its name says). "
            f"Accepted formats: {format_list(accepted)}.",
            reason="not_an_image",
            accepted=accepted,
        ) from None
    except Exception as exc:  # a header so broken that the format plugin itself fails
        raise PlaygroundError.invalid_input(
            f"{name} looks like an image but its header is damaged: it cannot be read.",
            reason="corrupt",
            error=str(exc),
        ) from None
    if im.width * im.height > max_pixels:
        im.close()
        raise _pixel_error(name, im.width * im.height, max_pixels, im.size)
    return im


def decode(im: Image.Image, name: str, max_pixels: int) -> None:
    """Decode every pixel now, so a truncated or corrupt file fails here with a clear message."""
    try:
        im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _bomb_error(name, exc, max_pixels) from None
    except MemoryError:
        raise PlaygroundError.invalid_input(f"{name} is too large to decode on this server.", reason="memory") from None
    except Exception as exc:
        raise PlaygroundError.invalid_input(
            f"{name} is damaged or incomplete (the file may have been cut off during upload or "
            "saving), so it cannot be decoded. Re-export or re-upload it.",
            reason="corrupt",
            error=str(exc),
        ) from None


def exif_orientation(im: Image.Image) -> int:
    """The EXIF orientation tag (1 = upright, also when it is missing or unreadable)."""
    try:
        value = im.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # unreadable EXIF: treat as upright
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def oriented_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """The stored ``size`` as shown upright (sides swapped by a quarter turn)."""
    return (size[1], size[0]) if orientation in _SWAPPING_ORIENTATIONS else size


def apply_orientation(im: Image.Image, orientation: int, notes: list[str]) -> tuple[Image.Image, bool]:
    """Turn the pixels upright per the EXIF ``orientation``. Returns the image and whether it moved."""
    if orientation == 1:
        return im, False
    try:
        upright = ImageOps.exif_transpose(im)
    except Exception:  # corrupt EXIF: send as stored
        notes.append("its EXIF orientation tag could not be applied: sent as stored")
        return im, False
    notes.append(f"{_ORIENTATION_TEXT[orientation]} per its EXIF orientation tag")
    return upright, True


def frame_count(im: Image.Image) -> int:
    """How many frames an animation (or multi-picture file) holds; 1 for a still image."""
    if not getattr(im, "is_animated", False):
        return 1
    try:
        return int(getattr(im, "n_frames", 2))
    except Exception:  # a broken later frame: we only send the first one anyway
        return 2


def first_frame(im: Image.Image, frames: int, source_format: str, notes: list[str]) -> None:
    """Position an animation on its first frame (the only one sent), and say so."""
    if frames <= 1:
        return
    im.seek(0)
    kind = "multi-picture JPEG (MPO)" if im.format == "MPO" else f"animated {source_format}"
    notes.append(f"{kind} with {frames} frames: only the first frame is sent")


def _sixteen_bit_to_l(im: Image.Image) -> Image.Image:
    """Scale 16/32-bit grayscale to 8 bits (a plain convert("L") clips everything above 255)."""
    as_int = im if im.mode == "I" else im.convert("I")
    low, high = as_int.getextrema()
    if not isinstance(low, int | float) or not isinstance(high, int | float):
        raise TypeError(f"one band expected, got the extrema {low!r}, {high!r}")
    if high <= 255 and low >= 0:
        return as_int.convert("L")
    top = 65535 if high <= 65535 else high
    return as_int.point(lambda v: v * (255 / top)).convert("L")


def to_sendable_mode(im: Image.Image, notes: list[str]) -> tuple[Image.Image, bool]:
    """Bring any mode to L, RGB or RGBA. Returns the image and whether colours were converted."""
    mode = im.mode
    if mode in ("L", "RGB", "RGBA"):
        return im, False
    if mode == "CMYK":
        profile = im.info.get("icc_profile")
        if profile:
            try:
                source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
                converted = ImageCms.profileToProfile(im, source, _SRGB, outputMode="RGB")
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


def colour_profile(icc: bytes | None) -> ImageCms.ImageCmsProfile | None:
    """The upload's colour profile when its pixels need converting to sRGB (None: sRGB or none)."""
    if not icc:
        return None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        description = ImageCms.getProfileDescription(profile)
        colour_space = profile.profile.xcolor_space.strip()
    except Exception:  # an unreadable profile cannot be applied: the pixels are taken as sRGB
        return None
    # A profile for another colour space (Lab, XYZ, gray) does not describe RGB pixels.
    return None if colour_space != "RGB" or "srgb" in description.lower() else profile


def to_srgb(im: Image.Image, profile: ImageCms.ImageCmsProfile | None, notes: list[str]) -> Image.Image:
    """Convert RGB/RGBA pixels described by ``profile`` to sRGB, so no profile needs to be sent."""
    if profile is None or im.mode not in ("RGB", "RGBA"):
        return im
    try:
        converted = ImageCms.profileToProfile(im, profile, _SRGB, outputMode=im.mode)
    except Exception:  # a profile littlecms cannot apply: the pixels are taken as sRGB
        notes.append("its colour profile could not be applied: colours taken as sRGB")
        return im
    if converted is None:
        return im
    # The description is the file's own text, shown on the page: letters, digits and plain punctuation only.
    name = re.sub(r"[^A-Za-z0-9 .,()+-]", "", ImageCms.getProfileDescription(profile)).strip()[:60]
    name = name or "its colour profile"
    notes.append(f"colours converted from {name} to sRGB")
    return converted


def downscale(im: Image.Image, target: tuple[int, int]) -> Image.Image:
    """Shrink to ``target``, the size the model would look at anyway (never enlarges)."""
    if im.size == target:
        return im
    return im.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _save(im: Image.Image, fmt: str, **params: object) -> bytes:
    # Encoders fall back on im.info for some metadata (JPEG comments, PNG colour profiles):
    # give them the pixels only.
    clean = im.copy()
    clean.info = {key: im.info[key] for key in _PIXEL_INFO if key in im.info}
    buffer = io.BytesIO()
    clean.save(buffer, fmt, **params)
    return buffer.getvalue()


def encode(im: Image.Image, source_format: str) -> tuple[bytes, str, str]:
    """Encode L/RGB/RGBA without any metadata: PNG when there is alpha, JPEG for photos, else the smaller.

    Returns the bytes, their format and a note saying which was chosen.
    """
    png = _save(im, "PNG") if im.mode == "RGBA" or source_format not in ("JPEG", "MPO") else None
    jpeg = _save(im, "JPEG", quality=JPEG_QUALITY, optimize=True) if im.mode != "RGBA" else None
    if jpeg is None:
        assert png is not None
        return png, "PNG", "sent as PNG to keep its transparency"
    if png is not None and len(png) <= len(jpeg):
        return png, "PNG", "re-encoded as PNG (smaller than JPEG, and lossless)"
    return jpeg, "JPEG", f"re-encoded as JPEG (quality {JPEG_QUALITY})"


def without_metadata(data: bytes, scan: MetadataScan, source_format: str, size: tuple[int, int]) -> bytes | None:
    """The upload minus its metadata parts, checked to decode to the same size; None if that fails."""
    if not scan.complete:
        return None
    stripped = scan.strip(data)
    if stripped is data:
        return data
    try:
        with Image.open(io.BytesIO(stripped), formats=[source_format]) as check:
            same_size = check.size == size
            check.draft(
                check.mode, (max(1, size[0] // 8), max(1, size[1] // 8))
            )  # JPEG: every scan read, 1/64 of the work
            check.load()
            return stripped if same_size else None
    except Exception:  # the walk misread the file: rebuild it from its pixels instead
        return None


# --- the pipeline -----------------------------------------------------------------------------
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

    Runs the steps of this module in order (see its docstring). An upload that needs no change
    but removing its metadata is sent as uploaded minus those parts; one that carries none is sent
    byte for byte. Images are never enlarged, and the token count is unchanged (checked).

    Transparency is kept (as PNG) unless ``flatten_alpha`` is True, which composites onto white
    and allows JPEG. ``rule`` overrides the registry's patch rule (see
    :func:`~playground.vision.tokens.estimate_image`). Raises :class:`PlaygroundError`
    (``INVALID_INPUT``) with a specific message for every bad upload.
    """
    limits = image_input_limits()
    spec, image_rule = resolve_rule(model, rule)
    max_bytes = provider_byte_cap(limits, provider)
    cap = limits.max_input_pixels
    name = f"“{filename}”" if filename else "The image"
    data = bytes(data)

    check_byte_cap(data, name, max_bytes, provider)
    notes: list[str] = []
    with open_safely(data, name, [fmt.upper() for fmt in limits.formats], cap) as im:
        is_jpeg = im.format in ("JPEG", "MPO")
        source_format = "JPEG" if is_jpeg else str(im.format)
        stored = im.size
        metadata = scan_metadata(data, str(im.format))
        if metadata.found:
            notes.append(f"metadata removed: {metadata.summary()}")
        if filename and "." in filename:
            ext = "." + filename.rsplit(".", 1)[1].lower()
            by_name = Image.registered_extensions().get(ext)
            if by_name and by_name not in (source_format, im.format):
                notes.append(f"the file name says {ext} but the content is {source_format}: read as such")

        frames = frame_count(im)
        first_frame(im, frames, source_format, notes)
        # JPEG: decode with DCT scaling (1/2, 1/4 or 1/8, never below the size the model uses),
        # known from the header -- the big win for camera photos.
        orientation = exif_orientation(im) if is_jpeg else 1
        if is_jpeg:
            upright = oriented_size(stored, orientation)
            target = estimate_image(*upright, "high", spec, rule=image_rule).view_size
            if target != upright:
                im.draft(im.mode, oriented_size(target, orientation))
        decode(im, name, cap)
        if not is_jpeg:  # PNG and WebP may keep EXIF after the pixel data
            orientation = exif_orientation(im)

        work, rotated = apply_orientation(im, orientation, notes)
        upright = oriented_size(stored, orientation if rotated else 1)
        target = estimate_image(*upright, "high", spec, rule=image_rule).view_size
        # CMYK is converted with its own profile by to_sendable_mode; grayscale has no colours to fix.
        profile = colour_profile(im.info.get("icc_profile")) if im.mode in ("RGB", "RGBA", "P", "PA") else None
        has_alpha = work.mode in ("RGBA", "LA", "PA") or (work.mode == "P" and "transparency" in work.info)
        pixels_kept = not (rotated or frames > 1 or profile is not None or (flatten_alpha and has_alpha))
        if not metadata.complete:
            notes.append("its file structure could not be checked for metadata: re-encoded from its pixels")
        as_uploaded = None
        if pixels_kept and target == upright and work.mode in _SENDABLE_MODES:
            as_uploaded = without_metadata(data, metadata, str(im.format), stored)

        if as_uploaded is not None:
            out, out_format, sent_size = as_uploaded, source_format, stored
        else:
            work, converted = to_sendable_mode(work, notes)
            work = to_srgb(work, profile, notes)
            encode_notes: list[str] = []
            if work.size != target:
                work = downscale(work, target)
                encode_notes.append(
                    f"downscaled from {upright[0]}x{upright[1]} to {target[0]}x{target[1]}, the "
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
            out, out_format, how = encode(work, source_format)
            sent_size = work.size
            # Only downscaled: the upload itself (minus its metadata) may still be the smaller file.
            stripped_bytes = len(data) - metadata.total_bytes
            if pixels_kept and not converted and metadata.complete and len(out) >= stripped_bytes:
                as_uploaded = without_metadata(data, metadata, str(im.format), stored)
            if as_uploaded is not None:
                out, out_format, sent_size = as_uploaded, source_format, stored
                notes.append(
                    f"kept the original {upright[0]}x{upright[1]} file: the model downscales it to "
                    f"{target[0]}x{target[1]} itself, and re-encoding would not make it smaller"
                )
            else:
                notes.extend([*encode_notes, how])

        # The token count must not move: the sent image is what the model would look at anyway.
        before = {d: estimate_image(*upright, d, spec, rule=image_rule).tokens for d in DETAILS}
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
        unchanged=out is data,
        as_uploaded=out is as_uploaded,
        is_estimate=spec.is_estimate,
        rule=image_rule.rule if isinstance(image_rule, PatchImageRule) else "tile",
        metadata=metadata,
    )
