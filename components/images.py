"""The Images panel's Streamlit pieces: the ways to attach an image, one card per pending image,
"send with a message", and the strip of pending images shown above the chat input.

The images themselves live in ``Workspace.pending_images``; the only panel state kept beside them
is what normalisation reported about each upload (:class:`~playground.attachments.UploadFacts`),
the errors of the last attempt, and the generation counters that clear the uploader and camera.
"""

from __future__ import annotations

import io

import streamlit as st

from components import format as fmt
from components.state import get_store, set_widget_value, widget_value
from playground.attachments import (
    ImagesPanel,
    UploadFacts,
    attach_upload,
    attach_url,
    detail_costs,
    max_images_per_request,
    pending_totals,
    preview,
    remove_pending,
    thumbnail,
    upload_limits_text,
)
from playground.connection import PROVIDER_LABELS
from playground.conversation import ImageAttachment
from playground.errors import PlaygroundError
from playground.registry import ModelSpec, Price
from playground.vision.metadata import format_bytes
from playground.vision.tokens import DETAILS, estimate_image
from playground.workspace import Workspace

CHAT_PAGE = "pages/chat.py"
IMAGES_PAGE = "pages/images.py"
PREVIEW_MAX_SIDE = 768
THUMBNAIL_WIDTH = 96
# Largest side a user may give for a remote image: anything bigger is a typo.
MAX_GIVEN_SIDE = 100_000


class ImageKeys:
    """Widget keys of the Images panel, named once so the page, the chat strip and tests agree."""

    UPLOAD_PREFIX = "images.upload."
    CAMERA_ON = "images.camera_on"
    CAMERA_PREFIX = "images.camera."
    URL_FORM = "images.url_form"
    URL = "images.url"
    URL_WIDTH = "images.url_width"
    URL_HEIGHT = "images.url_height"
    URL_ADD = "images.url_add"
    DISMISS_ERRORS = "images.dismiss_errors"
    SEND_FORM = "images.send_form"
    MESSAGE = "images.message"
    SEND = "images.send"
    CARD_PREFIX = "images.card."
    DETAIL_PREFIX = "images.detail."

    @staticmethod
    def upload(generation: int) -> str:
        """A new key per generation: the uploader starts empty after each batch is attached."""
        return f"{ImageKeys.UPLOAD_PREFIX}{generation}"

    @staticmethod
    def camera(generation: int) -> str:
        return f"{ImageKeys.CAMERA_PREFIX}{generation}"

    @staticmethod
    def card(attachment_id: str) -> str:
        return f"{ImageKeys.CARD_PREFIX}{attachment_id}"

    @staticmethod
    def detail(attachment_id: str) -> str:
        return f"{ImageKeys.DETAIL_PREFIX}{attachment_id}"

    @staticmethod
    def remove(attachment_id: str) -> str:
        return f"images.remove.{attachment_id}"

    @staticmethod
    def strip_remove(attachment_id: str) -> str:
        return f"images.strip_remove.{attachment_id}"


def _panel_state() -> ImagesPanel:
    return get_store().images_panel


# --- attaching (callbacks: they run before the script, so the page draws the result at once) ---
def _attach_files(workspace: Workspace, files: list[tuple[str, bytes]]) -> list[str]:
    """Attach each (name, bytes) on its own: one bad file never stops the others. Returns the errors."""
    state = _panel_state()
    errors = []
    for name, data in files:
        try:
            attachment, facts = attach_upload(workspace, data, name)
        except PlaygroundError as error:
            errors.append(error.message)
        else:
            state.facts[attachment.id] = facts
    return errors


def _on_upload(workspace: Workspace, key: str) -> None:
    state = _panel_state()
    files = widget_value(key) or []
    state.errors = _attach_files(workspace, [(file.name, file.getvalue()) for file in files])
    state.upload_generation += 1


def _on_photo(workspace: Workspace, key: str) -> None:
    state = _panel_state()
    photo = widget_value(key)
    if photo is None:  # the user cleared the photo: nothing to attach
        return
    # Every photo arrives as "image.jpg": number them so the list and the chat tell them apart.
    name = f"camera-photo-{state.camera_generation + 1}.jpg"
    state.errors = _attach_files(workspace, [(name, photo.getvalue())])
    state.camera_generation += 1


def _on_url(workspace: Workspace) -> None:
    state = _panel_state()
    try:
        attach_url(
            workspace,
            widget_value(ImageKeys.URL, ""),
            widget_value(ImageKeys.URL_WIDTH),
            widget_value(ImageKeys.URL_HEIGHT),
        )
    except PlaygroundError as error:
        state.errors = [error.message]  # the form keeps what was typed, to fix it
    else:
        state.errors = []
        set_widget_value(ImageKeys.URL, "")
        set_widget_value(ImageKeys.URL_WIDTH, None)
        set_widget_value(ImageKeys.URL_HEIGHT, None)


def _dismiss_errors() -> None:
    _panel_state().errors = []


def panel_header(workspace: Workspace) -> None:
    """The panel's title and what it is for, in one line."""
    st.title("Images", anchor=False)
    st.caption(
        f"Attach images to your next chat message: see what {workspace.model_spec().label} sees and what "
        "each image costs at each detail level before you send."
    )


def attach_sources(workspace: Workspace) -> None:
    """Upload, camera and web-address inputs, then the errors of the last attempt."""
    state = _panel_state()
    provider = workspace.connection.provider
    upload_tab, camera_tab, url_tab = st.tabs(["Upload", "Camera", "Web address"])
    with upload_tab:
        key = ImageKeys.upload(state.upload_generation)
        # No type= filter: the browser would refuse a mislabelled file with a generic message, while
        # the core reads the content and says exactly what is wrong with it.
        st.file_uploader(
            "Images (the content decides the format, not the file name)",
            accept_multiple_files=True,
            key=key,
            on_change=_on_upload,
            args=(workspace, key),
            help=f"Up to {max_images_per_request(provider)} images per request on {PROVIDER_LABELS[provider]}.",
        )
        # The browser refuses a file over the upload cap with the reason shown only on hover: say it here.
        st.caption(upload_limits_text(provider, st.get_option("server.maxUploadSize")))
    with camera_tab:
        # Behind a toggle: drawing st.camera_input makes the browser ask for the camera at once.
        if st.toggle("Use the camera", key=ImageKeys.CAMERA_ON):
            key = ImageKeys.camera(state.camera_generation)
            st.camera_input("Take a photo", key=key, on_change=_on_photo, args=(workspace, key))
    with url_tab, st.form(ImageKeys.URL_FORM, border=False):
        st.text_input("Image URL", key=ImageKeys.URL, placeholder="https://example.com/photo.jpg")
        st.caption(
            "This app never downloads the address: the model's provider fetches it when the message is "
            "sent. Its token count is unknown until the reply's usage arrives, unless you give its size."
        )
        width_column, height_column = st.columns(2)
        width_column.number_input("Width in pixels (optional)", 1, MAX_GIVEN_SIDE, None, key=ImageKeys.URL_WIDTH)
        height_column.number_input("Height in pixels (optional)", 1, MAX_GIVEN_SIDE, None, key=ImageKeys.URL_HEIGHT)
        st.form_submit_button(
            "Attach URL", key=ImageKeys.URL_ADD, icon=":material/link:", on_click=_on_url, args=(workspace,)
        )
    for message in state.errors:
        st.error(message, icon=":material/broken_image:")
    if state.errors:
        st.button("Dismiss", key=ImageKeys.DISMISS_ERRORS, on_click=_dismiss_errors)


# --- one card per pending image -------------------------------------------------------------
@st.cache_data(scope="session", max_entries=32, show_spinner=False)
def _preview_jpeg(
    attachment_id: str, model_id: str, detail: str, _attachment: ImageAttachment, _spec: ModelSpec
) -> bytes | None:
    """The grid preview as JPEG bytes, drawn once per image, model and detail (this session only)."""
    from playground.vision.normalise import JPEG_QUALITY  # Pillow loads with the first image

    image = preview(_attachment, _spec, max_side=PREVIEW_MAX_SIDE)
    if image is None:
        return None
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


@st.cache_data(scope="session", max_entries=64, show_spinner=False)
def thumbnail_png(attachment_id: str, _attachment: ImageAttachment) -> bytes | None:
    """A square PNG thumbnail, drawn at twice the shown size for sharp high-DPI screens."""
    image = thumbnail(_attachment, 2 * THUMBNAIL_WIDTH)
    if image is None:
        return None
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _what_the_model_sees(attachment: ImageAttachment, spec: ModelSpec) -> None:
    jpeg = _preview_jpeg(attachment.id, spec.id, attachment.detail, attachment, spec)
    if jpeg is None or attachment.width is None or attachment.height is None:
        st.info(
            "A web address: not downloaded by this app, so there is no preview. The model's provider "
            "fetches it when the message is sent.",
            icon=":material/link:",
        )
        st.text(attachment.url)
        return
    view = estimate_image(attachment.width, attachment.height, attachment.detail, spec)
    cells = "32-px patches" if view.method == "patch" else "512-px tiles"
    st.image(
        jpeg,
        caption=f"What {spec.label} sees: {view.view_width} x {view.view_height} px, "
        f"{view.columns} x {view.rows} {cells}",
    )


def _cost_table(attachment: ImageAttachment, spec: ModelSpec, price: Price | None) -> None:
    rows = detail_costs(attachment, spec, price)
    if not rows:
        st.info(
            "Tokens: unknown until the reply's usage arrives (the app does not download the image). "
            "Attach it again with its width and height to get an estimate.",
            icon=":material/help:",
        )
        return
    estimate = " (est.)" if spec.is_estimate else ""
    lines = [f"| detail | tokens{estimate} | input cost{estimate} |", "|---|--:|--:|"]
    for row in rows:
        chosen = " **◀ chosen**" if row.detail == attachment.detail else ""
        lines.append(f"| {row.detail}{chosen} | {row.tokens:,} | {fmt.money(row.cost_usd)} |")
    st.markdown("\n".join(lines))
    if len({row.tokens for row in rows}) == 1:
        st.caption(f"{spec.label} counts every detail level the same: low is not cheaper for it.")
    if price is None:
        st.caption("No price for this tier in the registry: costs are not shown.")


def _bytes_line(attachment: ImageAttachment, facts: UploadFacts | None) -> str:
    if attachment.is_remote:
        if attachment.width is None:
            return "Size: unknown."
        return f"Size you gave: {attachment.width} x {attachment.height} px (not checked)."
    sent = format_bytes(attachment.sent_bytes or 0)
    if facts is None:
        return f"Sends {sent}, {attachment.width} x {attachment.height} px."
    original = f"{facts.original_format} {facts.original_width} x {facts.original_height} px, "
    original += format_bytes(facts.original_bytes)
    if facts.sent_as_uploaded:
        return f"Sends the file as uploaded: {original}."
    if facts.pixels_as_uploaded:
        return f"Sends the file as uploaded without its metadata: {sent} instead of {original}."
    share = (attachment.sent_bytes or 0) / facts.original_bytes
    return (
        f"Sends {sent} ({facts.sent_format} {attachment.width} x {attachment.height} px) instead of the "
        f"original {original}: {share:.0%} of its bytes."
    )


def _set_detail(attachment: ImageAttachment) -> None:
    attachment.detail = widget_value(ImageKeys.detail(attachment.id), attachment.detail)


def attachment_card(workspace: Workspace, attachment: ImageAttachment, spec: ModelSpec, price: Price | None) -> None:
    """Preview, detail choice, token and cost per detail, bytes sent, notes, and Remove."""
    facts = _panel_state().facts.get(attachment.id)
    with st.container(border=True, key=ImageKeys.card(attachment.id)):
        preview_column, facts_column = st.columns([2, 3])
        with facts_column:
            st.text(attachment.name)
            st.segmented_control(
                "Detail",
                DETAILS,
                default=attachment.detail,
                required=True,
                key=ImageKeys.detail(attachment.id),
                # A callback runs before the sidebar is drawn, so the meter shows the new figure at once.
                on_change=_set_detail,
                args=(attachment,),
            )
            _cost_table(attachment, spec, price)
            if facts is not None and facts.prepared_for_another_model(spec.id):
                st.warning(
                    f"Prepared for {facts.prepared_for}: {spec.label} may see it at a higher resolution. "
                    "Remove it and attach it again for the best result; the figures above are for what is sent.",
                    icon=":material/sync_problem:",
                )
            st.caption(_bytes_line(attachment, facts))
            if facts is not None and facts.notes:
                st.markdown("\n".join(f"- {note}" for note in facts.notes))
            st.button(
                "Remove",
                key=ImageKeys.remove(attachment.id),
                icon=":material/delete:",
                on_click=remove_pending,
                args=(workspace, attachment.id),
            )
        with preview_column:
            _what_the_model_sees(attachment, spec)


def _totals_text(workspace: Workspace, spec: ModelSpec, price: Price | None) -> str:
    totals = pending_totals(workspace, spec, price)
    estimate = " (estimate)" if spec.is_estimate else ""
    text = f"{totals.count} image(s) · {totals.tokens:,} tokens · {fmt.money(totals.cost_usd)} input{estimate}"
    if totals.unknown:
        text += f" · {totals.unknown} web address(es) with tokens unknown until the reply's usage arrives"
    return text


def pending_cards(workspace: Workspace) -> None:
    """Every image waiting for the next message, with the panel's totals above them."""
    spec, price = workspace.model_spec(), workspace.price()
    state = _panel_state()
    pending_ids = {image.id for image in workspace.pending_images}
    state.facts = {key: facts for key, facts in state.facts.items() if key in pending_ids}
    if not workspace.pending_images:
        st.caption("No image attached yet. Attached images go with your next chat message.")
        return
    st.subheader("Attached to your next message")
    st.caption(_totals_text(workspace, spec, price))
    if spec.is_estimate:
        st.caption(f"Figures use {spec.label}'s image rule and price, estimated for “{spec.requested}”.")
    for attachment in workspace.pending_images:
        attachment_card(workspace, attachment, spec, price)


def send_with_message(workspace: Workspace) -> None:
    """Send the pending images with a message, then show the reply streaming on the chat page."""
    if not workspace.pending_images:
        return
    with st.form(ImageKeys.SEND_FORM):
        text = st.text_input("Message", key=ImageKeys.MESSAGE, placeholder="What is in this image?")
        sent = st.form_submit_button("Send with a message", key=ImageKeys.SEND, type="primary", icon=":material/send:")
    st.page_link(CHAT_PAGE, label="Or write the message on the Chat page", icon=":material/chat:")
    if sent:
        try:
            workspace.submit(text)
        except PlaygroundError as error:
            st.error(error.message)
        else:
            st.switch_page(CHAT_PAGE)
