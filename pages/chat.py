"""Chat panel: system prompt, parameters, the streamed conversation and its turn actions."""

import streamlit as st

from components.chat_view import parameters_form, render_message
from components.images import pending_images_strip
from components.meter import compose_and_gate
from components.state import Keys, get_workspace
from playground.chat import stream_reply
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

if compose_and_gate(workspace):  # the live draft box; holds a request too big for the window
    workspace.awaiting_reply = False  # from here on nothing re-sends on its own
    try:
        request = workspace.build_request()
    except PlaygroundError as error:
        st.error(str(error), icon=":material/tune:")
    else:
        estimate = workspace.estimate_prompt_tokens()
        reply = workspace.conversation.start_reply(request.model)
        with st.chat_message("assistant", avatar=":material/smart_toy:"):
            st.button("Stop", key=Keys.STOP, icon=":material/stop_circle:", help="Stop and keep the partial reply")
            text = st.empty()
            for _ in stream_reply(
                workspace.client(), request, reply, price=workspace.price(), estimated_prompt_tokens=estimate
            ):
                text.markdown(reply.content + " ▌")
        st.rerun()
