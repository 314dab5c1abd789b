"""The function-calling sandbox's Streamlit pieces: tool definitions and answering the model's calls."""

from __future__ import annotations

import json

import streamlit as st

from components.contain import contained
from components.format import md_code, md_text
from components.state import pop_widget_value, set_widget_value, widget_value
from playground.errors import PlaygroundError
from playground.schema import load_json_text
from playground.tools import argument_errors, load_tool_templates, parse_tools, tool_problems, unanswered_calls
from playground.workspace import Workspace


class ToolKeys:
    """Widget keys of the Functions page."""

    TEMPLATE = "tools.template"
    ADD_TEMPLATE = "tools.add_template"
    DEFINITIONS = "tools.definitions_json"
    APPLY = "tools.apply"
    CLEAR = "tools.clear"
    CHOICE = "tools.choice"
    PARALLEL = "tools.parallel"
    SEND_RESULTS = "tools.send_results"
    CHAT_INPUT = "tools.chat_input"
    APPLY_ERROR = "tools.apply_error"  # the last refused Apply's message (not a widget)

    @staticmethod
    def mock(tool_name: str) -> str:
        return f"tools.mock.{tool_name}"

    @staticmethod
    def output(call_id: str) -> str:
        return f"tools.output.{call_id}"


def _show_definitions(workspace: Workspace) -> None:
    set_widget_value(ToolKeys.DEFINITIONS, json.dumps(workspace.tools, indent=2))


def _add_template(workspace: Workspace) -> None:
    template = load_tool_templates()[widget_value(ToolKeys.TEMPLATE)]
    workspace.add_tool(template.tool, template.mock_output)
    _show_definitions(workspace)


def _apply_definitions(workspace: Workspace) -> None:
    try:
        workspace.set_tools(parse_tools(widget_value(ToolKeys.DEFINITIONS, "")))
    except PlaygroundError as error:
        set_widget_value(ToolKeys.APPLY_ERROR, error.message)  # shown under the editor; the text is kept
    else:
        pop_widget_value(ToolKeys.APPLY_ERROR)
        _show_definitions(workspace)


def _clear_tools(workspace: Workspace) -> None:
    workspace.clear_tools()
    _show_definitions(workspace)


def tool_definitions(workspace: Workspace) -> None:
    """Templates, the JSON editor, per-tool checks, tool_choice and parallel calls, canned outputs."""
    if widget_value(ToolKeys.DEFINITIONS) is None:
        _show_definitions(workspace)
    left, right = st.columns([3, 2])
    with left:
        picker, add = st.columns([3, 1], vertical_alignment="bottom")
        picker.selectbox("Template", list(load_tool_templates()), key=ToolKeys.TEMPLATE)
        add.button("Add", key=ToolKeys.ADD_TEMPLATE, on_click=_add_template, args=(workspace,), width="stretch")
        st.text_area(
            "Tools (Chat Completions format: a list of {type: function, function: {...}})",
            key=ToolKeys.DEFINITIONS,
            height=300,
        )
        with st.container(horizontal=True):
            st.button("Apply", key=ToolKeys.APPLY, on_click=_apply_definitions, args=(workspace,), type="primary")
            st.button("Remove all", key=ToolKeys.CLEAR, on_click=_clear_tools, args=(workspace,))
        if apply_error := widget_value(ToolKeys.APPLY_ERROR):
            st.error(md_text(apply_error) + " Your text is kept; fix it and apply again.")
    with right:
        names = [tool["function"]["name"] for tool in workspace.tools]
        choices = ["auto", "none", "required", *names]
        choice = st.selectbox(
            "tool_choice",
            choices,
            index=choices.index(workspace.tool_choice) if workspace.tool_choice in choices else 0,
            key=ToolKeys.CHOICE,
            help="A tool's name forces that tool.",
        )
        workspace.set_tool_choice(choice)
        workspace.set_parallel_tool_calls(
            st.toggle("Parallel tool calls", value=workspace.parallel_tool_calls, key=ToolKeys.PARALLEL)
        )
        for tool in workspace.tools:
            name = tool["function"]["name"]
            if problems := tool_problems(tool, workspace.connection.provider):
                st.warning(
                    f"{md_code(name)} would be rejected:\n\n- " + "\n- ".join(md_text(problem) for problem in problems)
                )
            output = st.text_area(
                f"Canned output of {md_code(name)}",
                value=workspace.tool_mock_outputs.get(name, "{}"),
                key=ToolKeys.mock(name),
                height=80,
            )
            workspace.set_tool_mock_output(name, output)


def _send_outputs(workspace: Workspace, call_ids: list[str]) -> None:
    # Read the outputs now: args bound at render time would hold the previous run's text.
    workspace.answer_tool_calls({call_id: widget_value(ToolKeys.output(call_id), "") for call_id in call_ids})


@contained("the tool calls waiting for their output", "Delete the assistant message that made the calls.")
def pending_calls_form(workspace: Workspace) -> None:
    """The model's unanswered calls: arguments checked against the schema, outputs to send back."""
    calls = unanswered_calls(workspace.conversation)
    if not calls:
        return
    tools_by_name = {tool["function"]["name"]: tool for tool in workspace.tools}
    with st.container(border=True):
        st.markdown(f"**The model called {len(calls)} tool(s).** Check the arguments and send the outputs back.")
        for call in calls:
            st.markdown(f"{md_code(call.name)} · call id {md_code(call.id)}")
            try:
                st.json(load_json_text(call.arguments or "{}", "arguments"))
            except PlaygroundError:
                st.code(call.arguments)
            for problem in argument_errors(tools_by_name.get(call.name), call.arguments):
                st.error(f"Arguments do not match the schema: {md_text(problem)}")
            st.text_area(
                f"Output of {md_code(call.name)}",
                value=workspace.tool_mock_outputs.get(call.name, "{}"),
                key=ToolKeys.output(call.id),
            )
        st.button(
            "Send outputs and continue",
            key=ToolKeys.SEND_RESULTS,
            on_click=_send_outputs,
            args=(workspace, [call.id for call in calls]),
            type="primary",
            icon=":material/send:",
        )
