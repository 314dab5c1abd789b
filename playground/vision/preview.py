"""The image as the model sees it: resized to the model's view, its grid (patches or tiles) drawn over it."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from playground.registry import ModelSpec
from playground.vision.normalise import PreparedImage, normalise_image
from playground.vision.tokens import Detail, ImageRule, PatchRuleName, estimate_image, resolve_rule

__all__ = ["preview_with_grid"]

_GRID_COLOUR = (255, 0, 200, 150)
_PADDING_COLOUR = (40, 40, 40, 255)
_BACKGROUND = (255, 255, 255, 255)
_DEFAULT_MODEL = "gpt-4.1-mini"


def _prepared_rule(source: PreparedImage, spec: ModelSpec) -> PatchRuleName | None:
    """The patch rule ``source`` was prepared with, when it was prepared for ``spec``'s model."""
    if source.model != spec.id or source.rule == "tile":
        return None
    return source.rule


def _decoded(source: PreparedImage) -> Image.Image:
    with Image.open(io.BytesIO(source.data)) as opened:
        opened.load()
        return opened.copy()


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
    (normalised first). ``model`` (a name or a registry :class:`ModelSpec`) defaults to the
    prepared image's model, else gpt-4.1-mini. Returns an RGBA image.
    """
    if isinstance(source, bytes | bytearray):
        source = normalise_image(bytes(source), model=model or _DEFAULT_MODEL, rule=rule)
    if isinstance(source, PreparedImage):
        spec, _ = resolve_rule(model or source.model)
        rule = rule if rule is not None else _prepared_rule(source, spec)
        image = _decoded(source)
    else:
        spec, _ = resolve_rule(model or _DEFAULT_MODEL)
        image = source

    est = estimate_image(image.width, image.height, detail, spec, rule=rule)
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
