"""Function-calling sandbox: define tools, let the model call them, answer with canned outputs."""

import streamlit as st

from components.chat_view import render_message, stream_pending_reply
from components.meter import request_gate
from components.state import get_workspace
from components.tools_view import ToolKeys, pending_calls_form, tool_definitions
from playground.errors import PlaygroundError

workspace = get_workspace()
workspace.conversation.settle_interrupted()
spec = workspace.model_spec()

with st.expander(f"Tools ({len(workspace.tools)} defined)", expanded=not workspace.tools):
    tool_definitions(workspace)
if not workspace.tools:
    st.info("Add a tool (start from a template), then ask something that needs it.")

messages = workspace.conversation.messages
for position, message in enumerate(messages):
    render_message(workspace, message, spec, is_last=position == len(messages) - 1)
pending_calls_form(workspace)

if prompt := st.chat_input("Ask something that needs a tool", key=ToolKeys.CHAT_INPUT, submit_mode="disable"):
    try:
        render_message(workspace, workspace.submit(prompt), spec, is_last=True)
    except PlaygroundError as error:
        st.error(str(error))

if request_gate(workspace):
    stream_pending_reply(workspace)
