"""The function-calling sandbox's Streamlit pieces: defining tools (templates, a form editor with
the schema builder's field editor, the JSON editor, imports), tool_choice and parallel calls, and
answering the chat's pending calls by hand. The loop (mocks, auto-run, timeline, scenarios) is in
:mod:`components.tool_loop`.

The tools live in ``Workspace.tools``; the form and the JSON editor are both derived from them on
every run, so they never drift: the JSON editor is refilled whenever the tools change, unless it
holds edits not applied yet (those are kept, with a warning).
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from components.contain import contained
from components.format import md_code, md_text
from components.schema_builder import FieldTarget, add_field_form, field_list
from components.state import clear_widgets, get_store, pop_widget_value, set_widget_value, widget_value
from playground.errors import PlaygroundError
from playground.schema import load_json_text
from playground.schema.document import ResponseSchema
from playground.toolloop import import_tools, load_templates
from playground.tools import argument_errors, parse_tools, tool_problems, unanswered_calls
from playground.workspace import Workspace

NEW_TOOL = "new_tool"
IMPORT_HELP = (
    "Paste a legacy request (functions / function_call), a whole request body, a list of tools or "
    "functions, or an OpenAPI 3 document (each operation becomes a tool). Tools of the same name are replaced."
)


class ToolKeys:
    """Widget keys of the Functions page."""

    TEMPLATE = "tools.template"
    ADD_TEMPLATE = "tools.add_template"
    DEFINITIONS = "tools.definitions_json"
    SYNCED = "tools.synced_json"  # the tools' JSON the editor was last filled from (not a widget)
    APPLY = "tools.apply"
    DISCARD = "tools.discard"
    CLEAR = "tools.clear"
    CHOICE = "tools.choice"
    PARALLEL = "tools.parallel"
    SEND_RESULTS = "tools.send_results"
    CHAT_INPUT = "tools.chat_input"
    APPLY_ERROR = "tools.apply_error"  # the last refused action's message (not a widget)
    IMPORT_TEXT = "tools.import_text"
    IMPORT = "tools.import"
    IMPORT_NOTES = "tools.import_notes"  # what the last import converted (not a widget)
    EDITING = "tools.editing"
    NEW = "tools.new"
    FORM_PREFIX = "tools.form."
    PARAMETERS_PREFIX = "tools.params."

    @staticmethod
    def output(call_id: str) -> str:
        return f"tools.output.{call_id}"

    @staticmethod
    def form(tool: str, attr: str) -> str:
        """The form editor's input ``attr`` (name, description, strict) of ``tool``."""
        return f"{ToolKeys.FORM_PREFIX}{tool}.{attr}"

    @staticmethod
    def parameters_prefix(tool: str) -> str:
        """The prefix of the field editor's widget keys for ``tool``'s parameters."""
        return f"{ToolKeys.PARAMETERS_PREFIX}{tool}."


def _tool_names(workspace: Workspace) -> list[str]:
    return [tool["function"]["name"] for tool in workspace.tools]


def _fail(message: str) -> None:
    set_widget_value(ToolKeys.APPLY_ERROR, message)


def _sync_json_editor(workspace: Workspace) -> None:
    """Refill the JSON editor when the tools changed, unless it holds unapplied edits."""
    current = json.dumps(workspace.tools, indent=2, ensure_ascii=False)
    synced = widget_value(ToolKeys.SYNCED)
    if current == synced:
        return
    draft = widget_value(ToolKeys.DEFINITIONS)
    if draft is None or draft == synced:
        set_widget_value(ToolKeys.DEFINITIONS, current)
        set_widget_value(ToolKeys.SYNCED, current)
    # else: keep the user's text; the editor shows a warning until it is applied or discarded


def _add_template(workspace: Workspace) -> None:
    template = load_templates()[widget_value(ToolKeys.TEMPLATE)]
    workspace.add_tool(template.tool, template.mock)
    set_widget_value(ToolKeys.EDITING, template.name)


def _apply_definitions(workspace: Workspace) -> None:
    try:
        workspace.set_tools(parse_tools(widget_value(ToolKeys.DEFINITIONS, "")))
    except PlaygroundError as error:
        _fail(error.message)  # shown under the editor; the text is kept
    else:
        pop_widget_value(ToolKeys.APPLY_ERROR)
        set_widget_value(ToolKeys.SYNCED, None)  # take the applied (normalised) tools
        set_widget_value(ToolKeys.DEFINITIONS, None)


def _discard_definitions() -> None:
    set_widget_value(ToolKeys.DEFINITIONS, widget_value(ToolKeys.SYNCED))
    pop_widget_value(ToolKeys.APPLY_ERROR)


def _clear_tools(workspace: Workspace) -> None:
    workspace.clear_tools()


def _import(workspace: Workspace) -> None:
    try:
        imported = import_tools(widget_value(ToolKeys.IMPORT_TEXT, ""))
        tools = parse_tools(json.dumps(imported.tools))  # the same checks as the JSON editor
    except PlaygroundError as error:
        _fail(error.message)
        set_widget_value(ToolKeys.IMPORT_NOTES, [])
        return
    pop_widget_value(ToolKeys.APPLY_ERROR)
    names = {tool["function"]["name"] for tool in tools}
    workspace.set_tools([tool for tool in workspace.tools if tool["function"]["name"] not in names] + tools)
    choice = imported.tool_choice
    if isinstance(choice, dict):
        choice = choice.get("function", {}).get("name")
    if isinstance(choice, str):
        workspace.set_tool_choice(choice)
    if imported.parallel_tool_calls is not None:
        workspace.set_parallel_tool_calls(imported.parallel_tool_calls)
    notes = [*imported.notes, f"Imported {', '.join(sorted(names))}."]
    set_widget_value(ToolKeys.IMPORT_NOTES, notes)
    set_widget_value(ToolKeys.EDITING, tools[0]["function"]["name"])


def _new_tool(workspace: Workspace) -> None:
    taken = set(_tool_names(workspace))
    candidates = (NEW_TOOL if number == 1 else f"{NEW_TOOL}_{number}" for number in range(1, len(taken) + 2))
    name = next(candidate for candidate in candidates if candidate not in taken)
    workspace.add_tool(
        {
            "type": "function",
            "function": {
                "name": name,
                "description": "",
                "strict": True,
                "parameters": {"type": "object", "properties": {}, "required": [], "additionalProperties": False},
            },
        }
    )
    set_widget_value(ToolKeys.EDITING, name)


def _on_form(workspace: Workspace, tool: str, attr: str) -> None:
    value = widget_value(ToolKeys.form(tool, attr))
    try:
        if attr == "name":
            workspace.update_tool(tool, new_name=str(value).strip())
            set_widget_value(ToolKeys.EDITING, str(value).strip())
        elif attr == "description":
            workspace.update_tool(tool, description=str(value))
        else:
            workspace.update_tool(tool, strict=bool(value))
    except PlaygroundError as error:
        _fail(error.message)
    else:
        pop_widget_value(ToolKeys.APPLY_ERROR)
    clear_widgets(ToolKeys.FORM_PREFIX)


def _form_editor(workspace: Workspace) -> None:
    """Name, description, strict and the parameters (the schema builder's field editor) of one tool."""
    names = _tool_names(workspace)
    picker, new = st.columns([3, 1], vertical_alignment="bottom")
    if widget_value(ToolKeys.EDITING) not in names:
        set_widget_value(ToolKeys.EDITING, names[0] if names else None)
    picker.selectbox("Tool to edit", names, key=ToolKeys.EDITING, placeholder="No tools yet")
    new.button(
        "New tool",
        key=ToolKeys.NEW,
        on_click=_new_tool,
        args=(workspace,),
        width="stretch",
        help="A new empty strict tool, to build with this form",
    )
    name = widget_value(ToolKeys.EDITING)
    if name is None:
        st.caption("No tools yet: add a template, a new tool, or import some.")
        return
    function = next(tool for tool in workspace.tools if tool["function"]["name"] == name)["function"]
    for attr, value in (
        ("name", name),
        ("description", function.get("description", "")),
        ("strict", bool(function.get("strict"))),
    ):
        set_widget_value(ToolKeys.form(name, attr), value)
    st.text_input(
        "Name",
        key=ToolKeys.form(name, "name"),
        on_change=_on_form,
        args=(workspace, name, "name"),
        help="Letters, digits, '_' and '-', at most 64 characters.",
    )
    st.text_area(
        "Description",
        key=ToolKeys.form(name, "description"),
        height=68,
        on_change=_on_form,
        args=(workspace, name, "description"),
        help="Tells the model when and how to call the tool.",
    )
    st.toggle(
        "Strict (arguments guaranteed to match the schema; strict subset only)",
        key=ToolKeys.form(name, "strict"),
        on_change=_on_form,
        args=(workspace, name, "strict"),
    )
    _parameters_editor(workspace, name, function)


def _parameters_editor(workspace: Workspace, name: str, function: dict[str, Any]) -> None:
    def edit(change: Any) -> Any:
        return workspace.edit_tool_parameters(name, change)

    target = FieldTarget(edit=edit, prefix=ToolKeys.parameters_prefix(name))
    panel = get_store().tools_panel
    document = ResponseSchema(name=name, schema=function.get("parameters"), strict=bool(function.get("strict")))
    if panel.needs_sync(document):  # changed elsewhere (JSON, import, another tool): fresh inputs
        clear_widgets(ToolKeys.PARAMETERS_PREFIX)
    st.markdown("**Parameters**")
    try:
        fields = document.fields()
    except PlaygroundError as error:
        st.info(f"{md_text(error.message)} The JSON tab still edits it.", icon=":material/data_object:")
        return
    if message := panel.errors.get("builder"):
        st.error(md_text(message), icon=":material/error:")
    properties = [f for f in fields if not f.root_keyword]
    if not properties:
        st.caption("No parameters yet: add one below.")
    field_list(target, panel, properties, ())
    add_field_form(target, panel, fields)
    if message := panel.errors.get("add"):
        st.error(md_text(message), icon=":material/error:")


def _json_editor(workspace: Workspace) -> None:
    st.text_area(
        "Tools (Chat Completions format: a list of {type: function, function: {...}})",
        key=ToolKeys.DEFINITIONS,
        height=300,
    )
    with st.container(horizontal=True, gap="small"):
        st.button("Apply", key=ToolKeys.APPLY, on_click=_apply_definitions, args=(workspace,), type="primary")
        st.button("Discard edits", key=ToolKeys.DISCARD, on_click=_discard_definitions)
        st.button("Remove all", key=ToolKeys.CLEAR, on_click=_clear_tools, args=(workspace,))
    if widget_value(ToolKeys.DEFINITIONS) != widget_value(ToolKeys.SYNCED):
        st.caption("This text has edits not applied yet (the form shows the applied tools).")


def _import_tab(workspace: Workspace) -> None:
    st.text_area(
        "JSON to import",
        key=ToolKeys.IMPORT_TEXT,
        height=200,
        help=IMPORT_HELP,
        placeholder='{"functions": [{"name": "get_weather", "parameters": {...}}], "function_call": "auto"}',
    )
    st.button(
        "Import", key=ToolKeys.IMPORT, icon=":material/upload:", type="primary", on_click=_import, args=(workspace,)
    )
    st.caption(md_text(IMPORT_HELP))
    if notes := widget_value(ToolKeys.IMPORT_NOTES):
        st.info("\n".join(f"- {md_text(note)}" for note in notes), icon=":material/check:")


def tool_definitions(workspace: Workspace) -> None:
    """Templates, tool_choice and parallel calls, per-tool checks, then the form / JSON / import tabs."""
    _sync_json_editor(workspace)
    picker, add = st.columns([4, 1], vertical_alignment="bottom")
    picker.selectbox("Template", list(load_templates()), key=ToolKeys.TEMPLATE)
    add.button("Add", key=ToolKeys.ADD_TEMPLATE, on_click=_add_template, args=(workspace,), width="stretch")
    choice_col, parallel_col = st.columns([2, 3], vertical_alignment="bottom")
    names = _tool_names(workspace)
    choices = ["auto", "none", "required", *names]
    set_widget_value(ToolKeys.CHOICE, workspace.tool_choice if workspace.tool_choice in choices else "auto")
    choice_col.selectbox(
        "tool_choice",
        choices,
        key=ToolKeys.CHOICE,
        on_change=lambda: workspace.set_tool_choice(widget_value(ToolKeys.CHOICE)),
        help="A tool's name forces that tool (on the loop's first step; then auto).",
    )
    set_widget_value(ToolKeys.PARALLEL, workspace.parallel_tool_calls)
    parallel_col.toggle(
        "Parallel tool calls",
        key=ToolKeys.PARALLEL,
        on_change=lambda: workspace.set_parallel_tool_calls(bool(widget_value(ToolKeys.PARALLEL))),
    )
    for tool in workspace.tools:
        name = tool["function"]["name"]
        if problems := tool_problems(tool, workspace.connection.provider):
            st.warning(
                f"{md_code(name)} would be rejected:\n\n- " + "\n- ".join(md_text(problem) for problem in problems)
            )
        else:
            strict = "strict rules pass" if tool["function"].get("strict") else "not strict"
            st.caption(f":material/check: {md_code(name)}: {strict}")
    form, raw, importing = st.tabs(["Form", "JSON", "Import"])
    with form:
        _form_editor(workspace)
    with raw:
        _json_editor(workspace)
    with importing:
        _import_tab(workspace)
    if apply_error := widget_value(ToolKeys.APPLY_ERROR):
        st.error(md_text(apply_error) + " Your text is kept; fix it and try again.")


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
                value=workspace.mock_output(call.name, call.arguments) or "{}",
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
