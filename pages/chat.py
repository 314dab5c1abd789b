"""Chat panel: system prompt, parameters, the streamed conversation and its turn actions."""

import streamlit as st

from components.chat_view import chat_box, parameters_form, render_conversation, stream_pending_reply
from components.images import pending_images_strip
from components.meter import compose_box, request_gate
from components.state import Keys, get_workspace
from components.tools_view import tool_choice_caption

workspace = get_workspace()
workspace.settle_interrupted()
spec = workspace.model_spec()

with st.expander("System prompt & parameters", expanded=not workspace.conversation.messages):
    system_prompt = st.text_area(
        "System prompt",
        value=workspace.system_prompt,
        key=Keys.SYSTEM_PROMPT,
        placeholder="You are a helpful assistant.",
    )
    workspace.set_system_prompt(system_prompt)
    workspace.set_params(parameters_form(workspace.params, spec))

if workspace.tools:
    st.caption(tool_choice_caption(workspace))
render_conversation(workspace, spec)
if workspace.conversation.messages:
    st.button("Clear chat", key=Keys.CLEAR, icon=":material/delete_sweep:", on_click=workspace.clear_chat)

pending_images_strip(workspace)
chat_box(workspace, Keys.CHAT_INPUT, "Message the model")

compose_box(workspace)
if request_gate(workspace):
    stream_pending_reply(workspace)
