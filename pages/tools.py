"""Function-calling sandbox: define tools, run the loop against mocks (timeline, scenarios), or chat by hand."""

import streamlit as st

from components.chat_view import chat_box, conversation_controls, render_conversation, stream_pending_reply
from components.contain import contained
from components.meter import request_gate
from components.state import get_workspace
from components.tool_loop import loop_controls, scenarios_view, timeline_view, tool_answers
from components.tools_view import ToolKeys, tool_definitions
from components.view_code import view_code

st.title("Functions")
st.caption(
    "Define tools, give them mocks, and let the loop run: the model calls tools, mocks (or your typed "
    "results) answer, the model goes on to its final answer. Or chat with the tools by hand below."
)
workspace = get_workspace()
workspace.settle_interrupted()
workspace.settle_tool_loop()
spec = workspace.model_spec()

with (
    st.expander(f"Tools ({len(workspace.tools)} defined)", expanded=not workspace.tools),
    contained("the tool definitions", "Remove all tools and add them again."),
):
    tool_definitions(workspace)
if not workspace.tools:
    st.info("Add a tool (start from a template), then ask something that needs it.")

with contained("the tools' mocks and code", "Save the mock again or pick another kind."):
    tool_answers(workspace)

run_tab, scenarios_tab = st.tabs(["Auto-run", "Scenarios"])
with run_tab, contained("the tool loop", "Clear the run and start again."):
    loop_controls(workspace)
    timeline_view(workspace)
with scenarios_tab, contained("the scenarios", "Remove the scenario that fails."):
    scenarios_view(workspace)

st.subheader("Chat with the tools by hand")
conversation_controls(workspace)
render_conversation(workspace, spec)
view_code(workspace)

chat_box(workspace, ToolKeys.CHAT_INPUT, "Ask something that needs a tool")

if request_gate(workspace):
    stream_pending_reply(workspace)
