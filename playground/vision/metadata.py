"""What an image file carries besides its pixels, and removing it without touching the pixels.

An upload may hold the place it was taken (GPS EXIF), the camera and its owner, an edit history
(XMP), an embedded thumbnail of the uncropped original, megabytes of text chunks, or anything
appended after the image data. None of it helps the model, and none of it may leave the session.

:func:`scan_metadata` walks the container structure (JPEG segments, PNG chunks, WebP RIFF chunks,
GIF blocks) and lists every part that is not needed to draw the pixels, with its byte range.
Pillow decodes images but does not list these parts (it skips the ones it does not know, and
never looks past the end of the image data), so the walk is our own; each container format is a
flat sequence of length-prefixed parts, and a file whose structure is not understood is reported
as such (``complete=False``): its image is then rebuilt from its pixels rather than trusted.

:meth:`MetadataScan.strip` removes the listed parts (lossless: the compressed pixel data is kept
byte for byte), so an image that needs no other change is sent at its own quality.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["MetadataBlock", "MetadataKind", "MetadataScan", "format_bytes", "scan_metadata"]

MetadataKind = Literal[
    "exif", "xmp", "iptc", "colour profile", "text", "comment", "thumbnail", "timestamp", "trailing", "other"
]

_LABELS: dict[MetadataKind, str] = {
    "exif": "EXIF",
    "xmp": "XMP",
    "iptc": "IPTC",
    "colour profile": "colour profile",
    "text": "text",
    "comment": "comments",
    "thumbnail": "thumbnail",
    "timestamp": "timestamp",
    "trailing": "data after the image",
    "other": "other metadata",
}
# A kind's size is worth saying when it is this large ("6 MB of text"); below, its name is enough.
_SIZE_WORTH_SAYING = 100_000
# Marks of a location in EXIF (the GPS IFD pointer tag, 0x8825) or in XMP (exif:GPSLatitude ...).
_GPS_IFD_TAG = 0x8825
_XMP_GPS = b"GPSLatitude"


def format_bytes(count: int) -> str:
    """A byte count as people read it: 7 MB, 280 kB, 512 bytes."""
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f} MB".replace(".0 MB", " MB")
    if count >= 1_000:
        return f"{count / 1_000:.0f} kB"
    return f"{count} bytes"


@dataclass(frozen=True)
class MetadataBlock:
    """One part of the file that is not needed to draw the image: ``data[start:end]``."""

    kind: MetadataKind
    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class MetadataScan:
    """Every metadata part found in a file.

    ``complete`` is False when the container's structure was not understood to its end (then more
    may be hidden, and :meth:`strip` must not be used). ``has_gps`` says whether a location was
    among it. ``vp8x_flags_at`` is the offset of a WebP VP8X flags byte to clear when stripping.
    """

    format: str
    blocks: tuple[MetadataBlock, ...] = ()
    has_gps: bool = False
    complete: bool = True
    vp8x_flags_at: int | None = None

    @property
    def found(self) -> bool:
        return bool(self.blocks) or self.has_gps

    @property
    def total_bytes(self) -> int:
        return sum(block.size for block in self.blocks)

    def bytes_by_kind(self) -> dict[MetadataKind, int]:
        sizes: dict[MetadataKind, int] = {}
        for block in self.blocks:
            sizes[block.kind] = sizes.get(block.kind, 0) + block.size
        return sizes

    def summary(self) -> str:
        """What was found, most sensitive first: ``"GPS, EXIF, 6 MB of text"`` ("" when nothing)."""
        parts = ["GPS"] if self.has_gps else []
        for kind, size in self.bytes_by_kind().items():
            label = _LABELS[kind]
            parts.append(f"{format_bytes(size)} of {label}" if size >= _SIZE_WORTH_SAYING else label)
        return ", ".join(parts)

    def strip(self, data: bytes) -> bytes:
        """``data`` without the metadata parts (the pixel data untouched). Needs a complete scan."""
        if not self.complete:
            raise ValueError("the file's structure was not understood: rebuild it from its pixels instead")
        if not self.blocks:
            return data
        kept, position = [], 0
        for block in sorted(self.blocks, key=lambda b: b.start):
            kept.append(data[position : block.start])
            position = block.end
        kept.append(data[position:])
        out = bytearray(b"".join(kept))
        if self.format == "WEBP":
            struct.pack_into("<I", out, 4, len(out) - 8)  # the RIFF size covers what is left
            if self.vp8x_flags_at is not None:
                removed_before = sum(b.size for b in self.blocks if b.end <= self.vp8x_flags_at)
                out[self.vp8x_flags_at - removed_before] &= ~_VP8X_METADATA_FLAGS & 0xFF
        return bytes(out)


def scan_metadata(data: bytes, image_format: str) -> MetadataScan:
    """The metadata parts of ``data``, an image file in ``image_format`` (as Pillow names it).

    Formats without a walker here (none of the accepted ones) come back ``complete=False``.
    """
    walker = _WALKERS.get(image_format)
    if walker is None:
        return MetadataScan(format=image_format, complete=False)
    try:
        return walker(data)
    except (struct.error, IndexError, ValueError):
        return MetadataScan(format=image_format, complete=False)


# --- GPS ---------------------------------------------------------------------------------------
def _exif_has_gps(payload: bytes) -> bool:
    from PIL import Image  # loaded only when a file has EXIF

    exif = Image.Exif()
    try:
        exif.load(payload)
    except Exception:  # unreadable EXIF: it is removed anyway; say "GPS" only when we saw one
        return False
    return _GPS_IFD_TAG in exif


def _has_gps(kind: MetadataKind, payload: bytes) -> bool:
    if kind == "exif":
        return _exif_has_gps(payload)
    return kind == "xmp" and _XMP_GPS in payload


# --- JPEG --------------------------------------------------------------------------------------
_SOI, _EOI, _SOS, _COM = 0xD8, 0xD9, 0xDA, 0xFE
_APP0, _APP15 = 0xE0, 0xEF
# After SOS: a marker is 0xFF followed by anything but stuffing (00), a restart (D0-D7) or fill (FF).
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _jpeg_app_kind(marker: int, payload: bytes) -> MetadataKind | None:
    """What an APPn or COM segment holds; None for the ones needed to decode (JFIF, Adobe)."""
    if marker == _COM:
        return "comment"
    if marker == _APP0:
        if payload.startswith(b"JFIF\x00") and len(payload) <= 14:
            return None  # JFIF header without a thumbnail: density only
        return "thumbnail" if payload.startswith((b"JFIF\x00", b"JFXX\x00")) else "other"
    if marker == _APP0 + 14 and payload.startswith(b"Adobe"):
        return None  # the colour transform of CMYK / YCCK files
    if marker == _APP0 + 1:
        return "exif" if payload.startswith(b"Exif\x00") else "xmp" if b"ns.adobe.com/xap" in payload[:64] else "other"
    if marker == _APP0 + 2 and payload.startswith(b"ICC_PROFILE\x00"):
        return "colour profile"
    if marker == _APP0 + 13:
        return "iptc"
    return "other"


def _scan_jpeg(data: bytes) -> MetadataScan:
    if data[:2] != b"\xff\xd8":
        return MetadataScan(format="JPEG", complete=False)
    blocks: list[MetadataBlock] = []
    gps = False
    position, in_scan = 2, False
    while True:
        if in_scan:  # entropy-coded data: jump to the next real marker
            found = _JPEG_MARKER.search(data, position)
            if found is None:
                return MetadataScan("JPEG", tuple(blocks), gps, complete=False)  # no end of image
            position = found.start()
        while data[position] == 0xFF and data[position + 1] == 0xFF:  # fill bytes before a marker
            position += 1
        if data[position] != 0xFF:
            return MetadataScan("JPEG", tuple(blocks), gps, complete=False)
        marker = data[position + 1]
        if marker == _EOI:
            end = position + 2
            if end < len(data):
                blocks.append(MetadataBlock("trailing", end, len(data)))
            return MetadataScan("JPEG", tuple(blocks), gps)
        if marker == _SOI or 0xD0 <= marker <= 0xD7:
            position += 2
            continue
        (length,) = struct.unpack_from(">H", data, position + 2)
        segment_end = position + 2 + length
        if length < 2 or segment_end > len(data):
            return MetadataScan("JPEG", tuple(blocks), gps, complete=False)
        if marker == _COM or _APP0 <= marker <= _APP15:
            payload = data[position + 4 : segment_end]
            kind = _jpeg_app_kind(marker, payload)
            if kind is not None:
                blocks.append(MetadataBlock(kind, position, segment_end))
                gps = gps or _has_gps(kind, payload)
        in_scan = marker == _SOS or in_scan
        position = segment_end


# --- PNG ---------------------------------------------------------------------------------------
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Chunks that decide how the pixels look; every other chunk is metadata.
_PNG_IMAGE_CHUNKS = frozenset(
    {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT", b"bKGD", b"pHYs"}
    | {b"acTL", b"fcTL", b"fdAT"}  # APNG frames (an animation is rebuilt from its first frame anyway)
)
_PNG_CHUNK_KINDS: dict[bytes, MetadataKind] = {
    b"tEXt": "text",
    b"zTXt": "text",
    b"eXIf": "exif",
    b"iCCP": "colour profile",
    b"tIME": "timestamp",
}


def _png_chunk_kind(chunk: bytes, payload: bytes) -> MetadataKind:
    if chunk == b"iTXt":
        return "xmp" if payload.startswith(b"XML:com.adobe.xmp\x00") else "text"
    return _PNG_CHUNK_KINDS.get(chunk, "other")


def _scan_png(data: bytes) -> MetadataScan:
    if not data.startswith(_PNG_SIGNATURE):
        return MetadataScan(format="PNG", complete=False)
    blocks: list[MetadataBlock] = []
    gps = False
    position = len(_PNG_SIGNATURE)
    while position + 12 <= len(data):
        length, chunk = struct.unpack_from(">I4s", data, position)
        end = position + 12 + length
        if end > len(data):
            break
        if chunk not in _PNG_IMAGE_CHUNKS:
            payload = data[position + 8 : end - 4]
            kind = _png_chunk_kind(chunk, payload)
            blocks.append(MetadataBlock(kind, position, end))
            gps = gps or _has_gps(kind, payload)
        position = end
        if chunk == b"IEND":
            if position < len(data):
                blocks.append(MetadataBlock("trailing", position, len(data)))
            return MetadataScan("PNG", tuple(blocks), gps)
    return MetadataScan("PNG", tuple(blocks), gps, complete=False)


# --- WebP --------------------------------------------------------------------------------------
_WEBP_IMAGE_CHUNKS = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF"})
_WEBP_CHUNK_KINDS: dict[bytes, MetadataKind] = {b"EXIF": "exif", b"XMP ": "xmp", b"ICCP": "colour profile"}
# VP8X flag bits announcing an ICC profile (0x20), EXIF (0x08) and XMP (0x04).
_VP8X_METADATA_FLAGS = 0x20 | 0x08 | 0x04


def _scan_webp(data: bytes) -> MetadataScan:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return MetadataScan(format="WEBP", complete=False)
    (riff_size,) = struct.unpack_from("<I", data, 4)
    riff_end = 8 + riff_size
    if riff_end > len(data):
        return MetadataScan(format="WEBP", complete=False)
    blocks: list[MetadataBlock] = []
    gps = False
    flags_at = None
    position = 12
    while position + 8 <= riff_end:
        chunk, length = struct.unpack_from("<4sI", data, position)
        end = position + 8 + length + (length & 1)
        if end > riff_end:
            return MetadataScan("WEBP", tuple(blocks), gps, complete=False)
        if chunk == b"VP8X":
            flags_at = position + 8
        elif chunk not in _WEBP_IMAGE_CHUNKS:
            kind = _WEBP_CHUNK_KINDS.get(chunk, "other")
            blocks.append(MetadataBlock(kind, position, end))
            gps = gps or _has_gps(kind, data[position + 8 : position + 8 + length])
        position = end
    if position != riff_end:
        return MetadataScan("WEBP", tuple(blocks), gps, complete=False)
    if riff_end < len(data):
        blocks.append(MetadataBlock("trailing", riff_end, len(data)))
    return MetadataScan("WEBP", tuple(blocks), gps, vp8x_flags_at=flags_at)


# --- GIF ---------------------------------------------------------------------------------------
_GIF_EXTENSION, _GIF_IMAGE, _GIF_TRAILER = 0x21, 0x2C, 0x3B
_GIF_GRAPHIC_CONTROL, _GIF_COMMENT, _GIF_APPLICATION, _GIF_PLAIN_TEXT = 0xF9, 0xFE, 0xFF, 0x01
# Extensions that take part in drawing (frame timing, drawn text, looping); others are metadata.
_GIF_DRAWING_EXTENSIONS = frozenset({_GIF_GRAPHIC_CONTROL, _GIF_PLAIN_TEXT, _GIF_APPLICATION})
_GIF_LOOP_APPLICATIONS = (b"NETSCAPE2.0", b"ANIMEXTS1.0")


def _gif_sub_blocks_end(data: bytes, position: int) -> int:
    """The offset after a chain of data sub-blocks (each length-prefixed, ended by a 0 length)."""
    while (size := data[position]) != 0:
        position += 1 + size
    return position + 1


def _colour_table_size(packed: int) -> int:
    return 3 * (2 ** ((packed & 0x07) + 1)) if packed & 0x80 else 0


def _scan_gif(data: bytes) -> MetadataScan:
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        return MetadataScan(format="GIF", complete=False)
    blocks: list[MetadataBlock] = []
    gps = False
    position = 13 + _colour_table_size(data[10])
    while True:
        introducer = data[position]
        if introducer == _GIF_TRAILER:
            if position + 1 < len(data):
                blocks.append(MetadataBlock("trailing", position + 1, len(data)))
            return MetadataScan("GIF", tuple(blocks), gps)
        if introducer == _GIF_IMAGE:
            after_table = position + 10 + _colour_table_size(data[position + 9])
            position = _gif_sub_blocks_end(data, after_table + 1)  # + the LZW code size byte
        elif introducer == _GIF_EXTENSION:
            label, end = data[position + 1], _gif_sub_blocks_end(data, position + 2)
            application = data[position + 3 : position + 14] if label == _GIF_APPLICATION else b""
            if label == _GIF_COMMENT:
                blocks.append(MetadataBlock("comment", position, end))
            elif label == _GIF_APPLICATION and application == b"XMP DataXMP":
                blocks.append(MetadataBlock("xmp", position, end))
                gps = gps or _XMP_GPS in data[position:end]
            elif label not in _GIF_DRAWING_EXTENSIONS or (
                label == _GIF_APPLICATION and application not in _GIF_LOOP_APPLICATIONS
            ):
                blocks.append(MetadataBlock("other", position, end))
            position = end
        else:
            return MetadataScan("GIF", tuple(blocks), gps, complete=False)


_WALKERS: dict[str, Callable[[bytes], MetadataScan]] = {
    "JPEG": _scan_jpeg,
    "MPO": _scan_jpeg,
    "PNG": _scan_png,
    "WEBP": _scan_webp,
    "GIF": _scan_gif,
}
