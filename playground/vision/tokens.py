"""Image token arithmetic: the size a model looks at, the grid it cuts it into, and the tokens.

Pure functions over pixel sizes and the registry's image rules (no Pillow: counting an image never
decodes it). :data:`Detail` is the one type for an image's detail level, used everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, get_args

from playground.registry import ModelSpec, PatchImageRule, TileImageRule, resolve_model

__all__ = [
    "DETAILS",
    "Detail",
    "ImageEstimate",
    "ImageRule",
    "PatchRuleName",
    "RuleName",
    "estimate_image",
    "grid_cell_size",
    "image_tokens",
    "model_view_size",
    "resolve_rule",
]

#: An image part's ``detail``: for patch models all three count the same, for tile models low is flat.
Detail = Literal["auto", "low", "high"]
DETAILS: tuple[Detail, ...] = get_args(Detail)
PatchRuleName = Literal["fit_then_budget", "patch_cap"]
#: The counting rule an estimate used: one of the patch rules, or ``"tile"``.
RuleName = Literal["fit_then_budget", "patch_cap", "tile"]
ImageRule = PatchImageRule | TileImageRule

# Slack for float error when a scaled side lands (mathematically) exactly on an integer.
_EPS = 1e-6


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
    rule: RuleName
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


def resolve_rule(model: str | ModelSpec, rule: PatchRuleName | ImageRule | None = None) -> tuple[ModelSpec, ImageRule]:
    """The registry entry of ``model`` and the image rule that applies (``rule`` overrides the entry's).

    A patch rule name keeps the entry's other parameters; a rule object is used as it is.
    """
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
    spec, image_rule = resolve_rule(model, rule)
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
        rule_name: RuleName = image_rule.rule
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
    _, image_rule = resolve_rule(model, rule)
    return image_rule.patch_size if isinstance(image_rule, PatchImageRule) else image_rule.tile_size
