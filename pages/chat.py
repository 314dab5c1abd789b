"""Chat panel: system prompt, parameters, the streamed conversation and its turn actions."""

import streamlit as st

from components.chat_view import parameters_form, render_message, stream_pending_reply
from components.images import pending_images_strip
from components.meter import compose_box, request_gate
from components.state import Keys, get_workspace
from playground.errors import PlaygroundError

workspace = get_workspace()
workspace.conversation.settle_interrupted()
spec = workspace.model_spec()

with st.expander("System prompt & parameters", expanded=not workspace.conversation.messages):
    workspace.system_prompt = st.text_area(
        "System prompt",
        value=workspace.system_prompt,
        key=Keys.SYSTEM_PROMPT,
        placeholder="You are a helpful assistant.",
    )
    workspace.params = parameters_form(workspace.params, spec)

messages = workspace.conversation.messages
for position, message in enumerate(messages):
    render_message(workspace, message, spec, is_last=position == len(messages) - 1)
if messages:
    st.button("Clear chat", key=Keys.CLEAR, icon=":material/delete_sweep:", on_click=workspace.clear_chat)

pending_images_strip(workspace)
if prompt := st.chat_input("Message the model", key=Keys.CHAT_INPUT, submit_mode="disable"):
    try:
        render_message(workspace, workspace.submit(prompt), spec, is_last=True)
    except PlaygroundError as error:
        st.error(str(error))

compose_box(workspace)
if request_gate(workspace):
    stream_pending_reply(workspace)
