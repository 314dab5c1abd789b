"""Drawing the conversation: messages, their stats and flags, and the per-turn actions."""

from __future__ import annotations

import streamlit as st

from components import format as fmt
from components.contain import contained
from components.images import thumbnail_png
from components.state import Keys
from components.tools_view import pending_calls_form
from components.verdict import schema_badge
from playground.conversation import Message, Status
from playground.errors import PlaygroundError
from playground.registry import ModelSpec, parameter_bounds
from playground.request import ChatParams
from playground.workspace import Workspace

ROLE_AVATARS = {"user": ":material/person:", "assistant": ":material/smart_toy:", "tool": ":material/build:"}
FINISH_FLAGS = {
    "length": "The reply was cut off at the maximum output length (finish_reason: length).",
    "content_filter": "The reply was stopped by the content filter (finish_reason: content_filter).",
}


def _key(action: str, message: Message) -> str:
    return f"chat.{action}.{message.id}"


def _resend_edited(workspace: Workspace, message: Message) -> None:
    # Read the text area's value now: args bound at render time would hold the previous run's text.
    workspace.edit_and_resend(message.id, st.session_state[_key("edit_text", message)])


def _edit_popover(workspace: Workspace, message: Message) -> None:
    with st.popover("Edit", icon=":material/edit:", width="content"):
        st.text_area("Edit and resend from here", value=message.content, key=_key("edit_text", message))
        st.button(
            "Resend",
            key=_key("resend", message),
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
                key=_key("regenerate", message),
                icon=":material/refresh:",
                on_click=workspace.retry,
                width="content",
            )
        st.button(
            "Delete",
            key=_key("delete", message),
            icon=":material/delete:",
            width="content",
            on_click=workspace.delete_message,
            args=(message.id,),
        )


def render_message(workspace: Workspace, message: Message, spec: ModelSpec, is_last: bool) -> None:
    with st.chat_message(message.role, avatar=ROLE_AVATARS.get(message.role)):
        if message.images:
            for column, image in zip(st.columns(min(len(message.images), 4)), message.images, strict=False):
                if image.is_remote:
                    column.caption(f":material/link: {image.url} (detail {image.detail})")
                else:  # the session-cached thumbnail: decoding the full image on every rerun is slow
                    column.image(thumbnail_png(image.id, image), caption=f"{image.name} · detail {image.detail}")
        if message.content:
            st.markdown(message.content)
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
            if is_last:
                st.button("Retry", key=_key("retry", message), icon=":material/replay:", on_click=workspace.retry)
        if message.error is not None:
            request_id = f" (request id: {message.error.request_id})" if message.error.request_id else ""
            partial = " The partial reply above is kept, marked incomplete." if message.content else ""
            st.error(f"{message.error.message}{request_id}{partial}", icon=":material/error:")
            if is_last:  # Retry resends the latest turn: under an older failure it would drop newer ones
                st.button(
                    "Retry",
                    key=_key("retry", message),
                    icon=":material/replay:",
                    on_click=workspace.retry,
                    type="primary",
                )
        if message.stats is not None and message.status not in (Status.FAILED, Status.INTERRUPTED):
            st.caption(fmt.stats_line(message.stats, spec.is_estimate))
            if flag := FINISH_FLAGS.get(message.stats.finish_reason or ""):
                st.warning(flag, icon=":material/warning:")
            if message.stats.content_filter:
                flagged = ", ".join(
                    f"{stage}: {', '.join(cats)}" for stage, cats in message.stats.content_filter.items()
                )
                st.warning(f"Content filter flagged {flagged}.", icon=":material/shield:")
        _actions(workspace, message, is_last)


def render_conversation(workspace: Workspace, spec: ModelSpec) -> None:
    """Every turn of the shared conversation, then any tool calls waiting for their output."""
    messages = workspace.conversation.messages
    for position, message in enumerate(messages):
        with contained("one message", "Delete that message if it stays broken."):
            render_message(workspace, message, spec, is_last=position == len(messages) - 1)
    pending_calls_form(workspace)


def parameters_form(params: ChatParams, spec: ModelSpec) -> ChatParams:
    """Sampling parameters, bounded by the registry for the chosen model."""
    bounds = parameter_bounds()
    left, right = st.columns(2)
    temperature = left.slider(
        "Temperature", bounds.temperature.min, bounds.temperature.max, params.temperature, 0.05, key=Keys.TEMPERATURE
    )
    top_p = right.slider("Top P", bounds.top_p.min, bounds.top_p.max, params.top_p, 0.05, key=Keys.TOP_P)
    frequency = left.slider(
        "Frequency penalty",
        bounds.frequency_penalty.min,
        bounds.frequency_penalty.max,
        params.frequency_penalty,
        0.1,
        key=Keys.FREQUENCY_PENALTY,
    )
    presence = right.slider(
        "Presence penalty",
        bounds.presence_penalty.min,
        bounds.presence_penalty.max,
        params.presence_penalty,
        0.1,
        key=Keys.PRESENCE_PENALTY,
    )
    max_tokens = left.number_input(
        f"Max completion tokens (up to {spec.max_output_tokens:,}; empty = model default)",
        min_value=1,
        max_value=spec.max_output_tokens,
        step=256,
        key=Keys.MAX_TOKENS,
        value=min(params.max_completion_tokens, spec.max_output_tokens) if params.max_completion_tokens else None,
    )
    seed = right.number_input("Seed (empty = random)", value=params.seed, step=1, key=Keys.SEED)
    stop = left.multiselect(
        f"Stop sequences (up to {bounds.max_stop_sequences})",
        options=params.stop,
        default=params.stop,
        accept_new_options=True,
        max_selections=bounds.max_stop_sequences,
        key=Keys.STOP_SEQUENCES,
    )
    response_format = right.radio(
        "Response format",
        ["text", "json_object"],
        horizontal=True,
        index=0 if params.response_format == "text" else 1,
        key=Keys.RESPONSE_FORMAT,
    )
    return ChatParams(
        temperature=temperature,
        top_p=top_p,
        frequency_penalty=frequency,
        presence_penalty=presence,
        max_completion_tokens=int(max_tokens) if max_tokens else None,
        seed=int(seed) if seed is not None else None,
        stop=list(stop),
        response_format=response_format,
    )


def stream_pending_reply(workspace: Workspace) -> None:
    """Stream the reply the conversation is waiting for, then rerun to draw it with its stats.

    The reply is written into the conversation as it arrives, so a Stop click (which ends this run
    at the next Streamlit call) keeps the partial text.
    """
    try:
        updates = workspace.stream_next_reply()
    except PlaygroundError as error:
        st.error(str(error), icon=":material/tune:")
        return
    with st.chat_message("assistant", avatar=ROLE_AVATARS["assistant"]):
        st.button("Stop", key=Keys.STOP, icon=":material/stop_circle:", help="Stop and keep the partial reply")
        text = st.empty()
        for reply in updates:
            text.markdown(reply.content + " ▌")
    st.rerun()


def _submit_from_box(workspace: Workspace, key: str) -> None:
    st.session_state[f"{key}.handled"] = True
    text = st.session_state[key]
    try:
        workspace.submit(text)
    except PlaygroundError as error:
        st.session_state[f"{key}.refused"] = str(error)
        st.session_state[key] = text  # back into the box: a refused message is never lost


def chat_box(workspace: Workspace, key: str, placeholder: str) -> None:
    """The chat input. Its message joins the conversation before the page draws (a callback);
    a message the workspace refuses goes back into the box, with the reason."""
    if restored := st.session_state.pop(f"{key}.restored", None):
        st.session_state[key] = restored
    sent = st.chat_input(placeholder, key=key, submit_mode="disable", on_submit=_submit_from_box, args=(workspace, key))
    if sent is not None and not st.session_state.pop(f"{key}.handled", False):
        # Sent to a server process that never drew this box (it restarted), so the callback did not
        # run: the session came back from the database, and the message joins it now.
        try:
            workspace.submit(sent)
        except PlaygroundError as error:
            st.session_state[f"{key}.refused"], st.session_state[f"{key}.restored"] = str(error), sent
        st.rerun()
    if refused := st.session_state.pop(f"{key}.refused", None):
        st.error(f"{refused} Your message is back in the box.", icon=":material/edit_note:")
