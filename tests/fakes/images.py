"""Generators for an odd and broken image corpus, built with Pillow at test time.

No binary file is committed: every function returns the bytes of one upload, and
:func:`write_corpus` writes the whole corpus into a directory (for manual testing of the app).
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Collection
from pathlib import Path

from PIL import ExifTags, Image, ImageChops, ImageCms, ImageDraw, PngImagePlugin

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)


def encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    """``im`` saved in ``fmt`` as bytes."""
    buffer = io.BytesIO()
    im.save(buffer, fmt, **params)
    return buffer.getvalue()


def photo_like(width: int, height: int, grain_sigma: float = 8.0) -> Image.Image:
    """An RGB image with photo-like statistics: gradients, soft blotches, grain and flat shapes.

    It compresses like a camera picture (a 6000x4000 one is about 7 MB as JPEG quality 90),
    unlike flat colour (tiny) or pure noise (huge). Takes about 0.5 s at 24 megapixels.
    """
    size = (width, height)
    gradient = Image.linear_gradient("L").resize(size, Image.Resampling.BILINEAR)
    radial = Image.radial_gradient("L").resize(size, Image.Resampling.BILINEAR)
    blotches = Image.effect_noise((max(8, width // 200), max(8, height // 200)), 40).resize(
        size, Image.Resampling.BICUBIC
    )
    tile = Image.effect_noise((min(width, 1024), min(height, 1024)), grain_sigma)
    grain = Image.new("L", size)
    for x in range(0, width, tile.width):
        for y in range(0, height, tile.height):
            grain.paste(tile, (x, y))
    red = ImageChops.add(gradient, blotches, scale=2.0)
    green = ImageChops.add(radial, blotches.transpose(Image.Transpose.ROTATE_180), scale=2.0)
    blue = ImageChops.blend(gradient.transpose(Image.Transpose.FLIP_TOP_BOTTOM), radial, 0.5)
    im = Image.merge("RGB", [ImageChops.add(c, grain, scale=1.0, offset=-128) for c in (red, green, blue)])
    draw = ImageDraw.Draw(im)
    for i in range(12):
        x0, y0 = (i * 977) % width, (i * 613) % height
        colour = ((i * 40) % 256, (i * 90) % 256, (i * 150) % 256)
        draw.ellipse([x0, y0, x0 + width // 8, y0 + height // 6], fill=colour)
    return im


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_bomb_header(width: int = 50_000, height: int = 50_000) -> bytes:
    """A tiny PNG whose IHDR claims ``width`` x ``height`` (8-bit RGB); no pixel is allocated.

    Its single IDAT holds a few compressed rows only: a decoder that trusted the header would
    allocate width * height * 3 bytes (7.5 GB by default) before noticing.
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (1 + 3 * min(width, 4096)) * 4)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    """The first ``keep`` fraction of ``data`` (an upload cut off half-way)."""
    return data[: max(1, int(len(data) * keep))]


def truncated_jpeg() -> bytes:
    return truncated(encode(photo_like(640, 480), "JPEG", quality=90))


def truncated_png() -> bytes:
    return truncated(encode(photo_like(640, 480), "PNG"))


def png_named_jpg() -> tuple[str, bytes]:
    """A valid PNG with a .jpg name: accepted by content."""
    im = Image.new("RGB", (300, 200), GREEN)
    return "holiday.jpg", encode(im, "PNG")


def text_named_png() -> tuple[str, bytes]:
    """A text file renamed .png."""
    return "notes.png", b"Shopping list:\n- milk\n- eggs\n" * 20


def cmyk_jpeg(size: tuple[int, int] = (400, 300)) -> bytes:
    """A CMYK JPEG: left half pure cyan, right half pure yellow (RGB 0,255,255 and 255,255,0)."""
    im = Image.new("CMYK", size, (0, 0, 255, 0))
    ImageDraw.Draw(im).rectangle([0, 0, size[0] // 2 - 1, size[1]], fill=(255, 0, 0, 0))
    return encode(im, "JPEG", quality=95)


def gray16_png(size: tuple[int, int] = (256, 64)) -> bytes:
    """A 16-bit grayscale PNG ramp from 0 (left) to 65535 (right)."""
    ramp = Image.linear_gradient("L").rotate(90, expand=True).resize(size, Image.Resampling.BILINEAR)
    wide = ramp.convert("I").point(lambda v: v * 257)
    return encode(wide.convert("I;16"), "PNG")


def rgba_png(size: tuple[int, int] = (200, 100)) -> bytes:
    """RGBA: left half opaque red, right half fully transparent."""
    im = Image.new("RGBA", size, (0, 0, 255, 0))
    ImageDraw.Draw(im).rectangle([0, 0, size[0] // 2 - 1, size[1]], fill=(*RED, 255))
    return encode(im, "PNG")


def palette_png_with_transparency(size: tuple[int, int] = (200, 100)) -> bytes:
    """A palette (P) PNG whose index 0 is transparent: left half transparent, right half blue."""
    im = Image.new("P", size, 0)
    im.putpalette([*GREEN, *BLUE] + [0] * (3 * 254))
    ImageDraw.Draw(im).rectangle([size[0] // 2, 0, size[0], size[1]], fill=1)
    return encode(im, "PNG", transparency=0)


def _frames(size: tuple[int, int]) -> list[Image.Image]:
    return [Image.new("RGB", size, colour) for colour in (RED, GREEN, BLUE)]


def animated_gif(size: tuple[int, int] = (120, 80)) -> bytes:
    """Three frames: red, green, blue."""
    first, *rest = _frames(size)
    return encode(first, "GIF", save_all=True, append_images=rest, duration=100, loop=0)


def animated_webp(size: tuple[int, int] = (120, 80)) -> bytes:
    """Three frames: red, green, blue (lossless)."""
    first, *rest = _frames(size)
    return encode(first, "WEBP", save_all=True, append_images=rest, duration=100, lossless=True)


def exif_rotated_jpeg(size: tuple[int, int] = (600, 400), orientation: int = 6) -> bytes:
    """A ``size`` JPEG tagged with EXIF ``orientation``; a red block marks the stored top-left."""
    im = Image.new("RGB", size, (255, 255, 255))
    ImageDraw.Draw(im).rectangle([0, 0, size[0] // 4, size[1] // 4], fill=RED)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(im, "JPEG", quality=92, exif=exif)


#: Where the metadata factories below say the picture was taken (degrees, minutes, seconds).
GPS_LATITUDE = (52.0, 22.0, 12.5)
GPS_LONGITUDE = (4.0, 53.0, 28.0)
XMP_WITH_GPS = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="52,22.2N"/>'
    b"</rdf:RDF></x:xmpmeta>"
)
#: Bytes appended after the end of the image data (phones append such trailers).
TRAILER = b"TRAILER: owner=Jane Doe; serial=123456"


def camera_exif(orientation: int = 1) -> Image.Exif:
    """EXIF as a phone writes it: maker, model, owner, the EXIF orientation and a GPS position."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Pocket 12"
    exif[ExifTags.Base.Artist] = "Jane Doe"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = GPS_LONGITUDE
    return exif


def _marked(size: tuple[int, int]) -> Image.Image:
    """White, with a red block marking the stored top-left corner."""
    im = Image.new("RGB", size, (255, 255, 255))
    ImageDraw.Draw(im).rectangle([0, 0, size[0] // 4, size[1] // 4], fill=RED)
    return im


def gps_exif_jpeg(size: tuple[int, int] = (600, 400), orientation: int = 6) -> bytes:
    """A phone photo: EXIF with GPS and ``orientation``, XMP with GPS, a comment, a trailer after the image."""
    data = encode(_marked(size), "JPEG", quality=92, exif=camera_exif(orientation), xmp=XMP_WITH_GPS, comment=b"hi")
    return data + TRAILER


def png_with_text_chunks(size: tuple[int, int] = (200, 150), text_bytes: int = 6_000_000) -> bytes:
    """A small PNG carrying ``text_bytes`` of text chunks, EXIF with GPS, XMP and a trailer."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "lorem ipsum " * (text_bytes // 12))
    info.add_text("Author", "Jane Doe", zip=True)
    info.add_itxt("Description", "a long story", lang="en")
    info.add_itxt("XML:com.adobe.xmp", XMP_WITH_GPS.decode())
    return encode(_marked(size), "PNG", pnginfo=info, exif=camera_exif()) + TRAILER


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def linear_rgb_profile(description: str = "Linear RGB test") -> bytes:
    """A minimal ICC v2 display profile: sRGB primaries with a linear tone curve (gamma 1.0).

    Pillow can only create sRGB, Lab and XYZ profiles: this is the smallest "other RGB space"
    whose pixels must be converted to look right (linear 128 is sRGB 188).
    """
    xyz = lambda x, y, z: b"XYZ " + bytes(4) + _s15(x) + _s15(y) + _s15(z)  # noqa: E731
    ascii_text = description.encode() + b"\x00"
    tags = {
        b"desc": b"desc" + bytes(4) + struct.pack(">I", len(ascii_text)) + ascii_text + bytes(4 + 4 + 2 + 1 + 67),
        b"wtpt": xyz(0.9642, 1.0, 0.8249),
        b"rXYZ": xyz(0.4361, 0.2225, 0.0139),
        b"gXYZ": xyz(0.3851, 0.7169, 0.0971),
        b"bXYZ": xyz(0.1431, 0.0606, 0.7141),
        b"rTRC": b"curv" + bytes(4) + struct.pack(">IH", 1, 256) + bytes(2),  # gamma 1.0 (u8Fixed8)
        b"cprt": b"text" + bytes(4) + b"none\x00",
    }
    tags[b"gTRC"] = tags[b"bTRC"] = tags[b"rTRC"]
    table, body = b"", b""
    offset = 128 + 4 + 12 * len(tags)
    for signature, tag in tags.items():
        tag += bytes(-len(tag) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(tag))
        body += tag
    size = offset + len(body)
    header = (
        struct.pack(">I", size)
        + bytes(4)
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + bytes(12)
        + b"acsp"
        + bytes(24)
        + struct.pack(">I", 0)
        + _s15(0.9642)
        + _s15(1.0)
        + _s15(0.8249)
        + bytes(48)
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def webp_with_metadata(size: tuple[int, int] = (200, 150)) -> bytes:
    """A lossless WebP with EXIF (GPS), XMP and an sRGB colour profile."""
    return encode(
        _marked(size), "WEBP", lossless=True, exif=camera_exif(), xmp=XMP_WITH_GPS, icc_profile=srgb_profile()
    )


def gif_with_comment(size: tuple[int, int] = (200, 150)) -> bytes:
    """A still GIF with a comment extension and a trailer after its end."""
    return encode(_marked(size).convert("P"), "GIF", comment=b"taken at home, 12 Elm Street") + TRAILER


def one_pixel_png() -> bytes:
    return encode(Image.new("RGB", (1, 1), RED), "PNG")


def wide_png(size: tuple[int, int] = (10_000, 100)) -> bytes:
    """A 10000x100 strip: a horizontal gradient."""
    return encode(Image.linear_gradient("L").rotate(90).resize(size).convert("RGB"), "PNG")


def big_photo_jpeg(size: tuple[int, int] = (6000, 4000), quality: int = 90) -> bytes:
    """A 24-megapixel photo-like JPEG (about 7 MB)."""
    return encode(photo_like(*size), "JPEG", quality=quality)


def bmp_image() -> bytes:
    """A valid image in a format the API does not take."""
    return encode(Image.new("RGB", (64, 64), BLUE), "BMP")


def empty_file() -> bytes:
    return b""


def _named(filename: str, make: Callable[[], bytes]) -> Callable[[], tuple[str, bytes]]:
    return lambda: (filename, make())


#: name -> factory returning (upload file name, bytes).
CORPUS: dict[str, Callable[[], tuple[str, bytes]]] = {
    "bomb": _named("bomb.png", png_bomb_header),
    "truncated_jpeg": _named("cut.jpg", truncated_jpeg),
    "truncated_png": _named("cut.png", truncated_png),
    "png_named_jpg": png_named_jpg,
    "text_named_png": text_named_png,
    "cmyk_jpeg": _named("print.jpg", cmyk_jpeg),
    "gray16_png": _named("scan16.png", gray16_png),
    "rgba_png": _named("logo.png", rgba_png),
    "palette_png": _named("icon.png", palette_png_with_transparency),
    "animated_gif": _named("anim.gif", animated_gif),
    "animated_webp": _named("anim.webp", animated_webp),
    "exif_rotated_jpeg": _named("phone.jpg", exif_rotated_jpeg),
    "one_pixel": _named("dot.png", one_pixel_png),
    "wide": _named("strip.png", wide_png),
    "big_photo": _named("camera.jpg", big_photo_jpeg),
    "empty": _named("empty.png", empty_file),
    "bmp": _named("paint.bmp", bmp_image),
    "gps_exif_jpeg": _named("phone-gps.jpg", gps_exif_jpeg),
    "png_text_chunks": _named("chunky.png", png_with_text_chunks),
    "webp_metadata": _named("tagged.webp", webp_with_metadata),
    "gif_comment": _named("commented.gif", gif_with_comment),
}


def write_corpus(directory: Path, skip: Collection[str] = ()) -> dict[str, Path]:
    """Write every corpus file (but those named in ``skip``) into ``directory``; name -> path."""
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for key, factory in CORPUS.items():
        if key in skip:
            continue
        filename, data = factory()
        path = directory / f"{key}__{filename}"
        path.write_bytes(data)
        written[key] = path
    return written
