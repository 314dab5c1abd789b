"""The images waiting for the next chat message: adding, removing and pricing them.

The list itself is ``Workspace.pending_images``; ``Workspace.submit`` moves it onto the user's
message. This module is the glue between the Images panel and the core: uploads go through
:func:`playground.vision.normalise.normalise_image` (one pipeline, every bad file a clear error), remote URLs
are never fetched by the server (their token count stays unknown unless the user gives the size),
and the per-image figures come from the registry's image rule and price for the chosen model.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from playground.connection import PROVIDER_LABELS
from playground.conversation import ImageAttachment
from playground.costs import request_cost
from playground.errors import PlaygroundError
from playground.registry import ModelSpec, Price, image_input_limits
from playground.vision.metadata import format_bytes
from playground.vision.tokens import DETAILS, Detail, estimate_image
from playground.workspace import Workspace

if TYPE_CHECKING:  # Pillow loads when an image is handled, not with every page
    from PIL import Image

__all__ = [
    "DetailCost",
    "ImagesPanel",
    "PendingTotals",
    "UploadFacts",
    "attach_upload",
    "attach_url",
    "detail_costs",
    "images_in_next_request",
    "max_images_per_request",
    "pending_totals",
    "preview",
    "remove_pending",
    "thumbnail",
    "upload_limits_text",
]

REMOTE_SCHEMES = ("https", "http")


@dataclass(frozen=True)
class UploadFacts:
    """What normalisation did to an upload: shown beside its attachment, never sent.

    The attachment already holds what is sent (data URL, size, bytes); these are the original's
    figures and the pipeline's notes (rotated, first frame only, downscaled, ...).
    """

    original_format: str
    original_width: int
    original_height: int
    original_bytes: int
    sent_format: str
    sent_as_uploaded: bool  # byte for byte
    prepared_for: str  # the registry model whose view size it was reduced to
    notes: tuple[str, ...] = ()
    metadata_removed: str = ""  # what was found besides the pixels and not sent ("GPS, EXIF, 6 MB of text")
    pixels_as_uploaded: bool = False  # the upload's own image data is sent, minus that metadata

    def prepared_for_another_model(self, model_id: str) -> bool:
        """True when it was reduced for another model, which may see more of it: re-attach it."""
        return not self.pixels_as_uploaded and self.prepared_for != model_id


@dataclass
class ImagesPanel:
    """The images panel's per-session state beside the images themselves (those are the workspace's).

    ``upload_generation`` / ``camera_generation`` renew the upload widgets after an attach;
    ``errors``: the last attach's messages; ``facts``: what normalisation did, per attachment id.
    """

    upload_generation: int = 0
    camera_generation: int = 0
    errors: list[str] = field(default_factory=list)
    facts: dict[str, UploadFacts] = field(default_factory=dict)


@dataclass(frozen=True)
class DetailCost:
    """One detail level's input tokens for an image, and their price (None without a price)."""

    detail: Detail
    tokens: int
    cost_usd: float | None


@dataclass(frozen=True)
class PendingTotals:
    """The images waiting for the next message: ``unknown`` of them have no token figure yet."""

    count: int
    tokens: int
    unknown: int
    cost_usd: float | None


def max_images_per_request(provider: str) -> int:
    """The provider's cap on image parts in one request (registry data)."""
    return image_input_limits().providers[provider].max_images_per_request


def upload_limits_text(provider: str, browser_limit_mb: int) -> str:
    """What the uploader takes, in words: formats, the per-image limit, and what the browser refuses.

    ``browser_limit_mb`` is the uploader's own cap (Streamlit's ``server.maxUploadSize``): the browser
    refuses a bigger file before sending it, and only marks it in the box, so the page must say so.
    """
    from playground.vision.normalise import format_list

    limits = image_input_limits()
    provider_limit = limits.providers[provider].max_bytes
    browser_limit = browser_limit_mb * 1_000_000
    formats = format_list(limits.formats)
    label = PROVIDER_LABELS.get(provider, provider)
    refused = "is refused by your browser before upload: it shows a red mark in the box and is not attached"
    if provider_limit < browser_limit:
        return (
            f"{formats} (only the first frame of an animation is sent), up to {format_bytes(provider_limit)} "
            f"per image on {label}. A file over {format_bytes(browser_limit)} {refused}."
        )
    return (
        f"{formats} (only the first frame of an animation is sent), up to {format_bytes(browser_limit)} per "
        f"image. A bigger file {refused}."
    )


def images_in_next_request(workspace: Workspace) -> int:
    """Image parts the next request carries: the whole conversation's, plus the pending ones."""
    in_conversation = sum(len(message.images) for message in workspace.conversation.messages)
    return in_conversation + len(workspace.pending_images)


def _ensure_room(workspace: Workspace, name: str) -> None:
    provider = workspace.connection.provider
    limit = max_images_per_request(provider)
    carried = images_in_next_request(workspace)
    if carried >= limit:
        raise PlaygroundError.invalid_input(
            f"{name} was not attached: {PROVIDER_LABELS.get(provider, provider)} takes at most {limit} "
            f"images per request, and the next request already carries {carried} (attached here and "
            "earlier in the conversation). Remove an image or clear the chat first.",
            reason="too_many_images",
            limit=limit,
            carried=carried,
        )


def attach_upload(workspace: Workspace, data: bytes, filename: str) -> tuple[ImageAttachment, UploadFacts]:
    """Normalise an uploaded file for the chosen model and provider and queue it for the next message.

    Raises PlaygroundError (INVALID_INPUT) with a message naming the file when it is not a usable
    image or the request would carry too many images; nothing is queued then.
    """
    from playground.vision.normalise import normalise_image

    _ensure_room(workspace, f"“{filename}”")
    prepared = normalise_image(
        data, filename=filename, model=workspace.model_spec(), provider=workspace.connection.provider
    )
    attachment = ImageAttachment(
        name=filename,
        url=prepared.data_url(),
        width=prepared.width,
        height=prepared.height,
        sent_bytes=prepared.sent_bytes,
    )
    facts = UploadFacts(
        original_format=prepared.original_format,
        original_width=prepared.original_width,
        original_height=prepared.original_height,
        original_bytes=prepared.original_bytes,
        sent_format=prepared.format,
        sent_as_uploaded=prepared.unchanged,
        prepared_for=prepared.model,
        notes=prepared.notes,
        metadata_removed=prepared.metadata.summary(),
        pixels_as_uploaded=prepared.as_uploaded,
    )
    workspace.attach_image(attachment)
    return attachment, facts


def attach_url(workspace: Workspace, url: str, width: int | None = None, height: int | None = None) -> ImageAttachment:
    """Queue a remote image by address; the server never fetches it (the model's provider does).

    Without ``width`` and ``height`` its token count is unknown until the reply's usage arrives;
    with both, it is estimated like an upload of that size.
    """
    address = url.strip()
    parts = urlsplit(address)
    if parts.scheme.lower() not in REMOTE_SCHEMES or not parts.hostname or any(c.isspace() for c in address):
        raise PlaygroundError.invalid_input(
            f"“{address}” is not a web address: give an http:// or https:// URL of an image "
            "(to attach a file from this computer, upload it instead).",
            reason="not_a_url",
        )
    if (width is None) != (height is None):
        raise PlaygroundError.invalid_input(
            "Give both the width and the height of the image, or neither.", reason="partial_size"
        )
    if width is not None and height is not None and (width < 1 or height < 1):
        raise PlaygroundError.invalid_input(
            f"An image size must be positive, got {width} x {height}.", reason="bad_size"
        )
    name = parts.path.rsplit("/", 1)[-1] or parts.hostname
    _ensure_room(workspace, f"“{name}”")
    attachment = ImageAttachment(name=name, url=address, width=width, height=height)
    workspace.attach_image(attachment)
    return attachment


def remove_pending(workspace: Workspace, attachment_id: str) -> None:
    """Take an image off the next message (nothing happens if it is already gone)."""
    workspace.remove_pending_image(attachment_id)


def detail_costs(attachment: ImageAttachment, spec: ModelSpec, price: Price | None) -> list[DetailCost]:
    """Tokens and input cost at each detail level for ``spec``; empty when the size is unknown."""
    if attachment.width is None or attachment.height is None:
        return []
    rows = []
    for detail in DETAILS:
        tokens = estimate_image(attachment.width, attachment.height, detail, spec).tokens
        rows.append(DetailCost(detail, tokens, request_cost(price, tokens, 0) if price else None))
    return rows


def pending_totals(workspace: Workspace, spec: ModelSpec, price: Price | None) -> PendingTotals:
    """Count, known tokens (each image at its chosen detail) and input cost of the pending images."""
    tokens = unknown = 0
    for image in workspace.pending_images:
        if image.width is None or image.height is None:
            unknown += 1
        else:
            tokens += estimate_image(image.width, image.height, image.detail, spec).tokens
    cost = request_cost(price, tokens, 0) if price else None
    return PendingTotals(len(workspace.pending_images), tokens, unknown, cost)


def _decoded(attachment: ImageAttachment) -> Image.Image | None:
    from PIL import Image

    payload = attachment.payload()
    if payload is None:
        return None
    with Image.open(io.BytesIO(payload)) as opened:
        opened.load()
        return opened.copy()


def preview(attachment: ImageAttachment, spec: ModelSpec, max_side: int = 768) -> Image.Image | None:
    """The attached image as ``spec``'s model sees it, grid drawn over it; None for a remote URL."""
    from playground.vision.preview import preview_with_grid

    image = _decoded(attachment)
    return None if image is None else preview_with_grid(image, spec, detail=attachment.detail, max_side=max_side)


def thumbnail(attachment: ImageAttachment, side: int) -> Image.Image | None:
    """The image fitted and centred in a transparent ``side`` x ``side`` square; None for a remote URL.

    Square thumbnails keep a row of them (and the buttons under them) aligned whatever their shapes.
    """
    from PIL import ImageOps

    image = _decoded(attachment)
    return None if image is None else ImageOps.pad(image.convert("RGBA"), (side, side), color=(0, 0, 0, 0))
