"""Function-calling sandbox: define tools, let the model call them, answer with canned outputs."""

import streamlit as st

from components.chat_view import chat_box, conversation_controls, render_conversation, stream_pending_reply
from components.contain import contained
from components.meter import request_gate
from components.state import get_workspace
from components.tools_view import ToolKeys, tool_definitions
from components.view_code import view_code

st.title("Functions")
st.caption(
    "Define tools, let the model call them, and answer each call with a canned output to see the whole "
    "function-calling loop without a backend."
)
workspace = get_workspace()
workspace.settle_interrupted()
spec = workspace.model_spec()

with (
    st.expander(f"Tools ({len(workspace.tools)} defined)", expanded=not workspace.tools),
    contained("the tool definitions", "Remove all tools and add them again."),
):
    tool_definitions(workspace)
if not workspace.tools:
    st.info("Add a tool (start from a template), then ask something that needs it.")

conversation_controls(workspace)
render_conversation(workspace, spec)
view_code(workspace)

chat_box(workspace, ToolKeys.CHAT_INPUT, "Ask something that needs a tool")

if request_gate(workspace):
    stream_pending_reply(workspace)
