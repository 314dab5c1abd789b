"""Drawing the conversation: the chat page's header and landing, messages with their stats and
flags, the per-turn actions, the reply being streamed, and the one composer (``st.chat_input``).

Long conversations stay cheap to rerun: only the latest :data:`RECENT_MESSAGES` messages are drawn,
earlier ones a page at a time on request, and a message's edit box is drawn only while its Edit
popover is open.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Literal

import streamlit as st
from streamlit.typing import ChatInputValue

from components import format as fmt
from components.contain import contained
from components.images import IMAGES_PAGE, ImageKeys, thumbnail_png
from components.state import Keys, pop_widget_value, set_widget_value, widget_value
from components.tools_view import pending_calls_form
from components.verdict import schema_badge
from playground.attachments import attach_upload, pending_totals, remove_pending
from playground.conversation import Message, Status
from playground.errors import ErrorKind, PlaygroundError
from playground.meter import next_request_cost
from playground.registry import ModelSpec, parameter_bounds
from playground.reply_blocks import next_settled, tail_due
from playground.request import ChatParams, parameter_controls, params_summary
from playground.tokens import TokenCounter
from playground.workspace import Workspace

ROLE_AVATARS = {"user": ":material/person:", "assistant": ":material/smart_toy:", "tool": ":material/build:"}
FINISH_FLAGS = {
    "length": "The reply was cut off at the maximum output length (finish_reason: length).",
    "content_filter": "The reply was stopped by the content filter (finish_reason: content_filter).",
}
#: Messages drawn with their actions at the bottom of the conversation (20 exchanges); earlier
#: ones are drawn a page of the same size at a time, on request.
RECENT_MESSAGES = 40
IMAGE_TYPES = ["png", "jpg", "jpeg", "gif", "webp"]
SAMPLE_PROMPTS = {
    "Explain": "Explain prompt caching in three short bullet points.",
    "Extract JSON": 'Extract the name, city and date as JSON: "Ana Souza flies to Lisbon on 3 May 2026."',
    "Rewrite": "Rewrite this for a status page, calm and clear: the database is down and we are on it.",
}
#: Said on every replayed reply and tool result, wherever it is drawn (issue 12).
REPLAY_MARK = ":orange-badge[:material/replay: Replay] played from the recording, not from the model"


class ChatKeys:
    """Keys of the chat page's own widgets and view state (per-message keys: ``message_key``)."""

    SETTINGS = "chat.settings"  # the "System prompt & parameters" expander
    SETTINGS_OPEN = "chat.settings_open"  # whether it is open (kept here: its key changes with its label)
    SHOWN = "chat.messages_shown"
    SHOW_EARLIER = "chat.show_earlier"
    SAMPLE_PREFIX = "chat.sample."
    FULL_RUN = "chat.full_run"  # set while the whole page runs (a fragment-only rerun does not see it)
    RESTORED_PREFIX = "chat.restored."  # a refused message to put back into a chat input on the next run
    HANDLED_PREFIX = "chat.handled."  # set by a chat input's callback: this run's value was taken
    REFUSED_PREFIX = "chat.refused."  # why the workspace refused a chat input's message


def message_key(action: str, message: Message) -> str:
    return f"chat.{action}.{message.id}"


# --- stats ------------------------------------------------------------------------------------
def _estimated_output_tokens(message: Message, counter: TokenCounter | None) -> int | None:
    if counter is None or not message.content:
        return None
    return counter.count(message.content)


# --- one message --------------------------------------------------------------------------------
def _resend_edited(workspace: Workspace, message: Message) -> None:
    # Read the text area's value now: args bound at render time would hold the previous run's text.
    workspace.edit_and_resend(message.id, widget_value(message_key("edit_text", message), message.content))
    set_widget_value(message_key("edit", message), False)  # close the popover: the edit is sent


def _edit_popover(workspace: Workspace, message: Message) -> None:
    # on_change="rerun": the popover reports whether it is open, so its edit box (a full copy of
    # the message) is only drawn while it is, and Resend can close it.
    popover = st.popover("Edit", icon=":material/edit:", key=message_key("edit", message), on_change="rerun")
    if not popover.open:
        return
    with popover:
        st.text_area("Edit and resend from here", value=message.content, key=message_key("edit_text", message))
        st.button(
            "Resend",
            key=message_key("resend", message),
            on_click=_resend_edited,
            args=(workspace, message),
            type="primary",
            help="Replaces this message and drops everything after it.",
        )


def _actions(workspace: Workspace, message: Message, is_last: bool) -> None:
    with st.container(horizontal=True, gap="small"):
        if message.role == "user":
            _edit_popover(workspace, message)
        elif is_last and message.role == "assistant" and message.status not in (Status.FAILED, Status.INTERRUPTED):
            st.button(
                "Regenerate",
                key=message_key("regenerate", message),
                icon=":material/refresh:",
                on_click=workspace.retry,
                width="content",
            )
        st.button(
            "Delete",
            key=message_key("delete", message),
            icon=":material/delete:",
            width="content",
            on_click=workspace.delete_message,
            args=(message.id,),
        )


def _error_text(message: Message) -> str:
    assert message.error is not None
    request_id = f" (request id: {message.error.request_id})" if message.error.request_id else ""
    if message.error.kind is ErrorKind.STREAM_INTERRUPTED:  # one sentence about the partial reply, not two
        return (
            "The connection dropped while the reply was streaming. The partial reply above is kept, marked "
            f"incomplete. Retry asks again.{request_id}"
        )
    partial = " The partial reply above is kept, marked incomplete." if message.content else ""
    return f"{message.error.message}{request_id}{partial}"


def render_message(
    workspace: Workspace,
    message: Message,
    spec: ModelSpec,
    is_last: bool,
    counter: TokenCounter | None = None,
    *,
    presenting: bool = False,
) -> None:
    """One message. ``presenting`` (the Demo page's presentation view): the conversation only, no
    figures and no buttons."""
    with st.chat_message(message.role, avatar=ROLE_AVATARS.get(message.role)):
        if message.replayed and message.role != "user":
            st.caption(REPLAY_MARK)
        if message.images:
            for column, image in zip(st.columns(min(len(message.images), 4)), message.images, strict=False):
                thumbnail = None if image.is_remote else thumbnail_png(image.id, image)
                if thumbnail is None:
                    column.caption(f":material/link: {fmt.md_code(image.url)} (detail {image.detail})")
                else:  # the session-cached thumbnail: decoding the full image on every rerun is slow
                    column.image(thumbnail, caption=f"{fmt.md_text(image.name)} · detail {image.detail}")
        if message.content:
            # The model's Markdown is drawn as Markdown (no HTML; the CSP stops remote images);
            # what the user typed is drawn as typed.
            st.markdown(message.content if message.role == "assistant" else fmt.md_lines(message.content))
            schema_badge(message)
        if message.refusal:
            st.warning(f"The model refused: {message.refusal}", icon=":material/block:")
        for call in message.tool_calls:
            st.code(f"{call.name}({call.arguments})", language="json")
        if message.status is Status.STOPPED:
            st.caption(":material/stop_circle: Stopped: partial reply, incomplete.")
        if message.status is Status.INTERRUPTED:
            st.badge("Interrupted", icon=":material/power_off:", color="orange")
            st.caption("The server stopped while this reply was streaming: the partial reply is kept, incomplete.")
        if message.error is not None:
            st.error(_error_text(message), icon=":material/error:")
        if presenting:
            return
        # Retry resends the latest turn: under an older failure it would drop newer ones.
        if is_last and (message.error is not None or message.status is Status.INTERRUPTED):
            st.button(
                "Retry",
                key=message_key("retry", message),
                icon=":material/replay:",
                on_click=workspace.retry,
                type="primary",
            )
        if message.stats is not None and message.status not in (Status.FAILED, Status.INTERRUPTED):
            estimated_output = _estimated_output_tokens(message, counter) if message.status is Status.STOPPED else None
            st.caption(fmt.stats_line(message.stats, spec.is_estimate, estimated_output))
            if flag := FINISH_FLAGS.get(message.stats.finish_reason or ""):
                st.warning(flag, icon=":material/warning:")
            if message.stats.content_filter:
                flagged = "; ".join(
                    f"{stage}: {', '.join(categories)}" for stage, categories in message.stats.content_filter.items()
                )
                st.warning(f"Content filter flagged {flagged}.", icon=":material/shield:")
        _actions(workspace, message, is_last)


def _show_earlier(total: int) -> None:
    shown = widget_value(ChatKeys.SHOWN, RECENT_MESSAGES)
    set_widget_value(ChatKeys.SHOWN, min(total, shown + RECENT_MESSAGES))


def visible_window(total: int, shown: int) -> int:
    """Index of the first message drawn: the latest ``shown`` messages (all when fewer)."""
    return max(0, total - max(shown, RECENT_MESSAGES))


def render_conversation(workspace: Workspace, spec: ModelSpec, *, presenting: bool = False) -> None:
    """The latest turns of the shared conversation (earlier ones a page at a time, on request),
    then any tool calls waiting for their output (not while ``presenting``: see render_message)."""
    messages = workspace.conversation.messages
    first = visible_window(len(messages), widget_value(ChatKeys.SHOWN, RECENT_MESSAGES))
    if first:
        st.button(
            f"Show {min(first, RECENT_MESSAGES)} earlier messages ({first} not shown)",
            key=ChatKeys.SHOW_EARLIER,
            icon=":material/expand_less:",
            type="tertiary",
            on_click=_show_earlier,
            args=(len(messages),),
        )
    counter = TokenCounter(spec.encoding) if any(m.status is Status.STOPPED for m in messages[first:]) else None
    for position in range(first, len(messages)):
        with contained("one message", "Delete that message if it stays broken."):
            render_message(
                workspace,
                messages[position],
                spec,
                is_last=position == len(messages) - 1,
                counter=counter,
                presenting=presenting,
            )
    if not presenting:
        pending_calls_form(workspace)


# --- the chat page's frame ----------------------------------------------------------------------
def state_chips(workspace: Workspace) -> list[str]:
    """What other panels set that the next request carries, in a few words each."""
    chips = []
    if tools := len(workspace.tools):
        parallel = "on" if workspace.parallel_tool_calls else "off"
        chips.append(
            f"{tools} tool{'s' if tools > 1 else ''} (tool_choice {fmt.md_code(workspace.tool_choice)}, "
            f"parallel calls {parallel})"
        )
    if workspace.response_schema.response_format() is not None:
        chips.append(f"schema on ({fmt.md_text(workspace.response_schema.name)})")
    elif workspace.params.response_format == "json_object":
        chips.append("JSON mode")
    if images := len(workspace.pending_images):
        chips.append(f"{images} image{'s' if images > 1 else ''} pending")
    if workspace.system_prompt.strip():
        chips.append("system prompt set")
    return chips


def chat_header(workspace: Workspace) -> None:
    """The panel's title and purpose, what other panels add to the next request, and Clear chat."""
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.title("Chat", width="content")
        st.space("stretch")
        if workspace.conversation.messages:
            clear_chat_button(workspace)
    st.caption("Talk to the model with your system prompt and parameters; each reply shows its tokens, cost and speed.")
    if chips := state_chips(workspace):
        st.caption(" · ".join(f":material/tune: {chip}" if i == 0 else chip for i, chip in enumerate(chips)))


def clear_chat_button(workspace: Workspace) -> None:
    st.button(
        "Clear chat",
        key=Keys.CLEAR,
        icon=":material/delete_sweep:",
        on_click=workspace.clear_chat,
        width="content",
    )


def _send_sample(workspace: Workspace, text: str) -> None:
    try:
        workspace.submit(text)
    except PlaygroundError as error:
        st.toast(error.message, icon=":material/info:")


def landing(workspace: Workspace) -> None:
    """An empty chat: what the playground does, and a few prompts to start from."""
    with st.container(border=True):
        st.markdown(
            "**Try GPT-4.1-mini (or any OpenAI-compatible model) and see what each request costs.** "
            "Chat with streamed replies and their token counts, attach images, let the model call your "
            "functions, make it answer in a JSON schema, and watch the context window and costs in the sidebar."
        )
        st.caption("Start from a sample:")
        with st.container(horizontal=True, gap="small"):
            for index, (label, prompt) in enumerate(SAMPLE_PROMPTS.items()):
                st.button(
                    label,
                    key=f"{ChatKeys.SAMPLE_PREFIX}{index}",
                    help=prompt,
                    icon=":material/send:",
                    on_click=_send_sample,
                    args=(workspace, prompt),
                )


def conversation_controls(workspace: Workspace) -> None:
    """For panels that share the chat (Functions): the system prompt in use, and Clear chat."""
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        prompt = " ".join(workspace.system_prompt.split())
        shown = fmt.md_lines(prompt[:200]) + ("…" if len(prompt) > 200 else "")
        st.caption(
            f":material/description: System prompt: {shown}"
            if prompt
            else ":material/description: No system prompt (set one on the Chat page)."
        )
        if workspace.conversation.messages:
            st.space("stretch")
            clear_chat_button(workspace)


#: The chat settings' parameters form keys: ``chat.temperature``, ``chat.seed``... (see Keys).
CHAT_PARAMS_PREFIX = "chat"
NO_EFFORT = "(model default)"
_UNSET = object()


def param_key(prefix: str, name: str) -> str:
    """The widget key of parameter ``name`` (a ChatParams field) in the form under ``prefix``."""
    return f"{prefix}.{name}"


def form_params(params: ChatParams, spec: ModelSpec, prefix: str = CHAT_PARAMS_PREFIX) -> ChatParams:
    """``params`` with the values of the form under ``prefix`` (as drawn, or as last set): only
    what ``spec`` accepts is taken from the form; the rest stays as it was (and is not sent)."""
    controls = parameter_controls(spec)
    changes: dict[str, object] = {}
    for name in controls.shown:
        key = param_key(prefix, name)
        if widget_value(key, _UNSET) is _UNSET:
            continue
        value = widget_value(key)
        if name in ("max_completion_tokens", "seed"):
            value = int(value) if value is not None else None
        elif name == "stop":
            value = list(value or [])
        changes[name] = value
    if controls.shows("reasoning_effort"):
        effort = widget_value(param_key(prefix, "reasoning_effort"), _UNSET)
        if effort is not _UNSET:
            changes["reasoning_effort"] = None if effort == NO_EFFORT else effort
    return params.model_copy(update=changes)


def parameters_form(params: ChatParams, spec: ModelSpec, prefix: str = CHAT_PARAMS_PREFIX) -> ChatParams:
    """The parameters ``spec`` accepts, bounded by the registry; what it rejects is named in a
    caption, not drawn; a reasoning-effort select when the model lists efforts. One form for the
    chat settings and each Compare column's popover (``prefix`` keeps their widgets apart)."""
    bounds = parameter_bounds()
    controls = parameter_controls(spec)
    places = itertools.cycle(st.columns(2))
    if controls.shows("reasoning_effort"):
        options = [NO_EFFORT, *controls.reasoning_efforts]
        current = params.reasoning_effort if params.reasoning_effort in controls.reasoning_efforts else NO_EFFORT
        next(places).selectbox(
            "Reasoning effort",
            options,
            index=options.index(current),
            key=param_key(prefix, "reasoning_effort"),
            help=f"{spec.requested} reasons before it answers; more effort: better answers, more output tokens.",
        )
    sliders = {
        "temperature": ("Temperature", bounds.temperature, 0.05),
        "top_p": ("Top P", bounds.top_p, 0.05),
        "frequency_penalty": ("Frequency penalty", bounds.frequency_penalty, 0.1),
        "presence_penalty": ("Presence penalty", bounds.presence_penalty, 0.1),
    }
    for name, (label, bound, step) in sliders.items():
        if controls.shows(name):
            next(places).slider(label, bound.min, bound.max, getattr(params, name), step, key=param_key(prefix, name))
    if controls.shows("max_completion_tokens"):
        next(places).number_input(
            f"Max completion tokens (up to {spec.max_output_tokens:,}; empty = model default)",
            min_value=1,
            max_value=spec.max_output_tokens,
            step=256,
            key=param_key(prefix, "max_completion_tokens"),
            value=min(params.max_completion_tokens, spec.max_output_tokens) if params.max_completion_tokens else None,
        )
    if controls.shows("seed"):
        next(places).number_input("Seed (empty = random)", value=params.seed, step=1, key=param_key(prefix, "seed"))
    if controls.shows("stop"):
        next(places).multiselect(
            f"Stop sequences (up to {bounds.max_stop_sequences})",
            options=params.stop,
            default=params.stop,
            accept_new_options=True,
            max_selections=bounds.max_stop_sequences,
            key=param_key(prefix, "stop"),
        )
    if note := controls.hidden_note():
        st.caption(f":material/block: {fmt.md_text(note)} Those settings are kept but not sent.")
    return form_params(params, spec, prefix)


def settings_are_open() -> bool:
    return bool(widget_value(ChatKeys.SETTINGS_OPEN, False))


def remember_settings_open() -> None:
    set_widget_value(ChatKeys.SETTINGS_OPEN, bool(widget_value(ChatKeys.SETTINGS)))


def settings_label(workspace: Workspace) -> str:
    """The settings expander's label: what is set, readable while it is closed."""
    prompt = "system prompt set" if workspace.system_prompt.strip() else "no system prompt"
    return (
        f"System prompt & parameters: {prompt} · {params_summary(workspace.params, workspace.model_spec())} · "
        f"{RESPONSE_FORMATS[response_format(workspace)]}"
    )


RESPONSE_FORMATS = {
    "text": "Text",
    "json_object": "JSON object",
    "json_schema": "JSON schema",
}


def response_format(workspace: Workspace) -> str:
    """The response format the next request asks for. The schema panel's "Use in chat" and this
    control are one setting: the workspace's ``ResponseSchema.enabled``."""
    if workspace.response_schema.response_format() is not None:
        return "json_schema"
    return workspace.params.response_format


def _set_response_format(workspace: Workspace) -> None:
    chosen = widget_value(Keys.RESPONSE_FORMAT)
    workspace.set_schema_option("enabled", chosen == "json_schema")
    plain = "json_object" if chosen == "json_object" else "text"
    workspace.set_params(workspace.params.model_copy(update={"response_format": plain}))


def response_format_control(workspace: Workspace) -> None:
    """Text, JSON object, or the schema panel's schema (offered once a schema exists)."""
    options = ["text", "json_object"] + (["json_schema"] if workspace.response_schema.schema is not None else [])
    current = response_format(workspace)
    if widget_value(Keys.RESPONSE_FORMAT) != current:
        set_widget_value(Keys.RESPONSE_FORMAT, current)  # the schema panel may have changed it
    st.radio(
        "Response format",
        options,
        horizontal=True,
        format_func=RESPONSE_FORMATS.__getitem__,
        key=Keys.RESPONSE_FORMAT,
        on_change=_set_response_format,
        args=(workspace,),
        help='JSON schema sends the Schema builder\'s schema (its "Use in chat" is the same switch).',
    )


# --- the reply being streamed -------------------------------------------------------------------
def draw_streaming(updates: Iterator[Message], model: str) -> None:
    """Draw a reply as it streams. Closed Markdown blocks are drawn once each into their own
    element; only the open tail is redrawn, so each update sends the new text, not the whole reply."""
    st.caption(f":material/smart_toy: {model} is writing…")
    st.button("Stop", key=Keys.STOP, icon=":material/stop_circle:", help="Stop and keep the partial reply")
    settled = st.container(gap=None)
    tail = st.empty()
    boundary = drawn = 0
    for reply in updates:
        chunk, boundary = next_settled(reply.content, boundary)
        if chunk:
            settled.markdown(chunk)
        open_tail = reply.content[boundary:]
        if chunk or tail_due(len(open_tail), drawn):
            tail.markdown(open_tail + " ▌")
            drawn = len(open_tail)


def stream_pending_reply(workspace: Workspace) -> None:
    """Stream the reply the conversation is waiting for, then rerun to draw it with its stats.

    Drawn right under the conversation, where the finished reply will stay. The reply is written
    into the conversation as it arrives, so a Stop click (which ends this run at the next
    Streamlit call) keeps the partial text.
    """
    try:
        updates = workspace.stream_next_reply()
    except PlaygroundError as error:
        st.error(str(error), icon=":material/tune:")
        return
    with st.chat_message("assistant", avatar=ROLE_AVATARS["assistant"]):
        draw_streaming(updates, workspace.connection.request_model)
    st.rerun()


# --- the composer -------------------------------------------------------------------------------
def _refuse(key: str, text: str, reason: str) -> None:
    set_widget_value(f"{ChatKeys.REFUSED_PREFIX}{key}", reason)
    set_widget_value(key, text)  # back into the box: a refused message is never lost


def _send(workspace: Workspace, value: object) -> tuple[str, str | None]:
    """Attach the submission's images and send its text; returns (the text, why it was refused or None)."""
    text = value if isinstance(value, str) else getattr(value, "text", "") or ""
    errors = []
    for upload in getattr(value, "files", None) or []:
        try:
            attach_upload(workspace, upload.getvalue(), upload.name)
        except PlaygroundError as error:
            errors.append(error.message)
    if errors:  # nothing is sent with an image missing: the others wait as chips, the text in the box
        return text, " ".join(errors) + " Nothing was sent."
    try:
        workspace.submit(text)
    except PlaygroundError as error:
        return text, str(error)
    return text, None


def _submit_from_box(workspace: Workspace, key: str) -> None:
    set_widget_value(f"{ChatKeys.HANDLED_PREFIX}{key}", True)
    text, refused = _send(workspace, widget_value(key))
    if refused is not None:
        _refuse(key, text, refused)


def next_request_caption(workspace: Workspace) -> str:
    """Tokens and cost of the next request as the meter counts it: the conversation and the
    pending images (the message itself is counted when it is sent)."""
    breakdown = workspace.breakdown()
    approx = "≥" if breakdown.is_lower_bound else "≈"
    images = len(workspace.pending_images)
    carries = "the conversation" + (f" + {images} image{'s' if images > 1 else ''}" if images else "")
    text = f"Next request: {approx}{breakdown.total:,} tokens ({carries}) + your message"
    price = workspace.price()
    if price is not None:
        cost = next_request_cost(breakdown, price, workspace.usage_rows())
        text += f" · input ≈{fmt.money(cost.input_usd)}"
        if cost.expected_usd is not None:
            text += f", ≈{fmt.money(cost.expected_usd)} with an average reply"
    return text


def pending_image_chips(workspace: Workspace) -> None:
    """The images the next message will carry, as chips that remove them."""
    if not workspace.pending_images:
        return
    spec = workspace.model_spec()
    totals = pending_totals(workspace, spec, workspace.price())
    summary = f"{totals.count} image(s) · {totals.tokens:,} tokens"
    if totals.unknown:
        summary += f" ({totals.unknown} of unknown size)"
    with st.container(horizontal=True, gap="small", vertical_alignment="center"):
        st.caption(f":material/attach_file: With your next message: {summary}", width="content")
        for image in workspace.pending_images:
            tokens = image.estimated_tokens(spec.id)
            st.button(
                f"{image.name} · {image.detail} · " + ("? tokens" if tokens is None else f"{tokens:,} tokens"),
                key=ImageKeys.strip_remove(image.id),
                icon=":material/close:",
                help="Remove this image from the next message",
                on_click=remove_pending,
                args=(workspace, image.id),
                width="content",
            )
        st.page_link(IMAGES_PAGE, label="Detail & more", icon=":material/image:")


def chat_box(workspace: Workspace, key: str, placeholder: str, *, accept_images: bool = False) -> None:
    """The composer, pinned to the bottom: pending image chips, the count of the next request, and
    the chat input (multi-line; with ``accept_images``, images attach right there).

    Its message joins the conversation before the page draws (a callback); a message the workspace
    refuses goes back into the box, with the reason. A message typed into the tab of a server that
    restarted joins the session too: the session came back from the database.
    """
    if restored := pop_widget_value(f"{ChatKeys.RESTORED_PREFIX}{key}"):
        set_widget_value(key, restored)
    with st.bottom:
        pending_image_chips(workspace)
        with contained("the count of the next request", "Check the tool definitions on the Functions page."):
            st.caption(next_request_caption(workspace))
        accept_file: bool | Literal["multiple"] = "multiple" if accept_images else False
        value: str | ChatInputValue | None = st.chat_input(
            placeholder,
            key=key,
            submit_mode="disable",
            accept_file=accept_file,
            file_type=IMAGE_TYPES if accept_images else None,
            on_submit=_submit_from_box,
            args=(workspace, key),
        )
    handled = pop_widget_value(f"{ChatKeys.HANDLED_PREFIX}{key}", False)
    if value is not None and not handled:
        # A submission whose callback never ran: the browser sent it to a server process that never
        # drew this box (it restarted). The session was reopened from the database: send it now.
        text, refused = _send(workspace, value)
        if refused is not None:  # back into the box on the next run (it is drawn already)
            set_widget_value(f"{ChatKeys.RESTORED_PREFIX}{key}", text or " ")
            set_widget_value(f"{ChatKeys.REFUSED_PREFIX}{key}", refused)
        st.rerun()
    if refused := pop_widget_value(f"{ChatKeys.REFUSED_PREFIX}{key}"):
        st.error(f"{refused} Your message is back in the box.", icon=":material/edit_note:")
