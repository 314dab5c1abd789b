"""Chat panel: system prompt, parameters, the streamed conversation, its turn actions, one composer."""

import streamlit as st

from components.chat_view import (
    ChatKeys,
    chat_box,
    chat_header,
    landing,
    parameters_form,
    remember_settings_open,
    render_conversation,
    response_format,
    response_format_control,
    settings_are_open,
    settings_label,
    stream_pending_reply,
)
from components.meter import request_gate
from components.state import Keys, get_workspace, pop_widget_value, set_widget_value, widget_value
from components.variables import variables_form
from components.view_code import view_code
from playground.registry import ModelSpec
from playground.workspace import Workspace


@st.fragment
def parameters(workspace: Workspace, spec: ModelSpec) -> None:
    """Sampling parameters rerun only themselves (the conversation is not redrawn), unless they
    change what the meter and the header show: then the whole app reruns."""
    before = (workspace.params.max_completion_tokens, response_format(workspace))
    workspace.set_params(parameters_form(workspace.params, spec))
    response_format_control(workspace)
    after = (workspace.params.max_completion_tokens, response_format(workspace))
    if after != before and not widget_value(ChatKeys.FULL_RUN):
        st.rerun(scope="app")


workspace = get_workspace()
workspace.settle_interrupted()
spec = workspace.model_spec()

chat_header(workspace)
# The expander reports when it opens or closes (on_change), and its widgets are drawn only while it
# is open: they are the page's heaviest part, in the server and in the browser.
settings_open = settings_are_open()
settings = st.expander(
    settings_label(workspace),
    expanded=settings_open,
    key=ChatKeys.SETTINGS,
    on_change=remember_settings_open,
    icon=":material/tune:",
)
if settings_open:
    with settings:
        workspace.set_system_prompt(
            st.text_area(
                "System prompt",
                value=workspace.system_prompt,
                key=Keys.SYSTEM_PROMPT,
                placeholder="You are a helpful assistant.",
            )
        )
        set_widget_value(ChatKeys.FULL_RUN, True)  # a fragment-only rerun of parameters() does not set it
        parameters(workspace, spec)
        pop_widget_value(ChatKeys.FULL_RUN)
variables_form(workspace)
view_code(workspace)  # above the conversation: a streaming reply grows where it will stay

if not workspace.conversation.messages and not workspace.awaiting_reply:
    landing(workspace)
render_conversation(workspace, spec)
chat_box(workspace, Keys.CHAT_INPUT, "Message the model (Shift+Enter: new line)", accept_images=True)
if request_gate(workspace):
    stream_pending_reply(workspace)
