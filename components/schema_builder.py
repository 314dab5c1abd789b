"""The Schema builder panel's Streamlit pieces: header (templates, name, strict, use in chat), the
visual field builder, the raw JSON / import / export / view code tabs, the strict-mode linter, and
the test run with its checked result.

The schema itself lives in ``Workspace.response_schema.schema`` (the chat sends the same one when
"Use in chat" is on); the builder's fields are derived from it on every run. The panel's own state
(:class:`~playground.schema_run.SchemaPanel`: last errors, fix notes, last run) is part of the one
session store (:func:`components.state.get_store`). Every action calls one method of the schema
document (:class:`~playground.schema.document.ResponseSchema`) or one function of
:mod:`playground.schema_run`. Names and messages that come from the schema, the model or the server
are escaped before they are drawn as Markdown (:mod:`components.format`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, cast

import streamlit as st

from components.format import md_code, md_text, stats_line
from components.state import clear_widgets, get_store, pop_widget_value, set_widget_value, widget_value
from components.verdict import verdict_badge
from components.view_code import code_view
from playground.connection import PROVIDER_LABELS
from playground.conversation import Status
from playground.errors import PlaygroundError
from playground.providers import provider_for
from playground.registry import ModelSpec
from playground.request import ChatRequest
from playground.schema import (
    FieldType,
    SchemaField,
    Violation,
    input_limits,
    lint_name,
    lint_strict,
    load_templates,
    provider_rules,
    response_format_payload,
    to_pydantic_source,
)
from playground.schema.builder import property_count
from playground.schema.document import ADD_FORM_ATTRIBUTES, ResponseSchema, enum_lines, parent_paths
from playground.schema_run import (
    RUN_MODES,
    RunMode,
    SchemaPanel,
    StructuredResult,
    prepare_run,
    reply_tables,
    schema_json,
    schema_run_request,
)
from playground.workspace import SchemaOption, Workspace

SCHEMA_PAGE = "pages/schema.py"
LINT_PROVIDERS = ("openai", "azure")
FIELD_TYPES: tuple[FieldType, ...] = ("string", "number", "integer", "boolean", "object", "array", "enum")
ITEM_TYPES: tuple[FieldType, ...] = ("string", "number", "integer", "boolean", "object", "enum")
STRING_FORMATS = provider_rules("openai").formats
IMPORT_KINDS = {
    "schema": "JSON Schema, response_format or request body",
    "example": "Example JSON document (infer a schema)",
}
RESULT_VIEWS = ("Tree", "Table")
_MISSING = object()  # a widget value not set yet (None is a value: an empty number input)


class SchemaKeys:
    """Widget keys of the Schema builder panel, named once so the page and tests agree."""

    RAW_FOLLOW = "schema.raw_follow"  # set by a successful apply: the editor takes the applied schema
    RAW_KEPT = "schema.raw_kept"  # the schema changed while the editor held unapplied edits

    TEMPLATE = "schema.template"
    LOAD_TEMPLATE = "schema.load_template"
    NAME = "schema.name"
    STRICT = "schema.strict"
    USE_IN_CHAT = "schema.use_in_chat"
    PROVIDER = "schema.provider"
    FIX = "schema.fix"

    RAW = "schema.raw"
    APPLY_RAW = "schema.apply_raw"
    DISCARD_RAW = "schema.discard_raw"
    IMPORT_KIND = "schema.import_kind"
    IMPORT_TEXT = "schema.import_text"
    IMPORT = "schema.import"
    DOWNLOAD_SCHEMA = "schema.download_schema"
    DOWNLOAD_PYDANTIC = "schema.download_pydantic"

    ADD_PARENT = "schema.add_parent"
    ADD_PREFIX = "schema.add."
    ADD = "schema.add_field"
    FIELD_PREFIX = "schema.field."
    ACTION_PREFIX = "schema.action."
    VERDICT = "schema.verdict"

    TEST_INPUT = "schema.test_input"
    MODE = "schema.mode"
    RUN = "schema.run"
    STOP = "schema.stop"
    VIEW = "schema.view"

    @staticmethod
    def add(attr: str) -> str:
        """An input of the "Add a field" form (``attr`` is a SchemaField attribute)."""
        return f"{SchemaKeys.ADD_PREFIX}{attr}"

    @staticmethod
    def field(path: Sequence[str], attr: str) -> str:
        """The input for attribute ``attr`` of the field at ``path``."""
        # JSON, not a joined string: "a/b" at the top and "b" inside "a" must not share a key.
        return f"{SchemaKeys.FIELD_PREFIX}{json.dumps(list(path))}.{attr}"

    @staticmethod
    def action(path: Sequence[str], action: str) -> str:
        """The "up", "down" or "delete" button of the field at ``path``."""
        return f"{SchemaKeys.ACTION_PREFIX}{json.dumps(list(path))}.{action}"


# --- state and actions ---------------------------------------------------------------------------
def panel_state() -> SchemaPanel:
    """This session's SchemaPanel (part of the one session store)."""
    return get_store().schema_panel


def sync_editors(workspace: Workspace, panel: SchemaPanel) -> None:
    """Refill the raw JSON editor and the builder's inputs when the shared schema changed.

    A failed raw apply does not change the schema, so the user's text stays as typed. The widgets
    bound to the workspace (name, strict, use in chat) always show the workspace's values.
    """
    target = workspace.response_schema
    previous = panel.synced_json
    if panel.needs_sync(target) or widget_value(SchemaKeys.RAW) is None:
        draft = widget_value(SchemaKeys.RAW)
        if pop_widget_value(SchemaKeys.RAW_FOLLOW, False) or draft is None or draft == previous:
            set_widget_value(SchemaKeys.RAW, panel.synced_json)
            set_widget_value(SchemaKeys.RAW_KEPT, False)
        else:  # never overwrite text the user typed and has not applied
            set_widget_value(SchemaKeys.RAW_KEPT, True)
        clear_widgets(SchemaKeys.FIELD_PREFIX)
    set_widget_value(SchemaKeys.NAME, target.name)
    set_widget_value(SchemaKeys.STRICT, target.strict)
    set_widget_value(SchemaKeys.USE_IN_CHAT, target.enabled)


def _act(panel: SchemaPanel, area: str, action: Callable[..., Any], *args: Any) -> bool:
    """Run one action; a PlaygroundError is kept as ``area``'s error message. True on success."""
    panel.errors.pop(area, None)
    panel.notes = []
    try:
        action(*args)
    except PlaygroundError as error:
        panel.errors[area] = str(error)
        return False
    return True


def _show_error(panel: SchemaPanel, area: str) -> None:
    if message := panel.errors.get(area):
        st.error(md_text(message), icon=":material/error:")


def _load_template(workspace: Workspace, panel: SchemaPanel) -> None:
    _act(panel, "template", workspace.response_schema.load_template, widget_value(SchemaKeys.TEMPLATE))


def _set_target(workspace: Workspace, attr: SchemaOption, key: str) -> None:
    workspace.set_schema_option(attr, widget_value(key))


def _apply_raw(workspace: Workspace, panel: SchemaPanel) -> None:
    if _act(panel, "raw", workspace.response_schema.apply_text, widget_value(SchemaKeys.RAW, "")):
        set_widget_value(SchemaKeys.RAW_FOLLOW, True)


def _discard_raw(panel: SchemaPanel) -> None:
    set_widget_value(SchemaKeys.RAW, panel.synced_json)
    set_widget_value(SchemaKeys.RAW_KEPT, False)
    panel.errors.pop("raw", None)


def _import(workspace: Workspace, panel: SchemaPanel) -> None:
    target = workspace.response_schema
    action = target.apply_text if widget_value(SchemaKeys.IMPORT_KIND) == "schema" else target.infer_from_example
    _act(panel, "import", action, widget_value(SchemaKeys.IMPORT_TEXT, ""))


def _fix(workspace: Workspace, panel: SchemaPanel, provider: str) -> None:
    def fix() -> None:
        panel.notes = workspace.response_schema.fix(provider)

    _act(panel, "fix", fix)


def _on_attribute(workspace: Workspace, panel: SchemaPanel, path: tuple[str, ...], attr: str) -> None:
    raw = widget_value(SchemaKeys.field(path, attr))
    if _act(panel, "builder", workspace.response_schema.set_field_attribute, path, attr, raw):
        panel.focus = (*path[:-1], str(raw).strip()) if attr == "name" else path
    else:
        clear_widgets(SchemaKeys.FIELD_PREFIX)  # show the schema's values again, not the rejected input


def _on_move(workspace: Workspace, panel: SchemaPanel, path: tuple[str, ...], step: int) -> None:
    if _act(panel, "builder", workspace.response_schema.shift_field, path, step):
        panel.focus = path


def _on_delete(workspace: Workspace, panel: SchemaPanel, path: tuple[str, ...]) -> None:
    if _act(panel, "builder", workspace.response_schema.delete_field, path):
        panel.focus = path[:-1]


def _on_add(workspace: Workspace, panel: SchemaPanel) -> None:
    drawn = {attr: widget_value(SchemaKeys.add(attr), _MISSING) for attr in ADD_FORM_ATTRIBUTES}
    values = {attr: value for attr, value in drawn.items() if value is not _MISSING}
    parent = widget_value(SchemaKeys.ADD_PARENT) or ()

    def add() -> None:
        panel.focus = workspace.response_schema.add_field(values, parent)

    if _act(panel, "add", add):
        clear_widgets(SchemaKeys.ADD_PREFIX)


# --- header -------------------------------------------------------------------------------------
def schema_header(workspace: Workspace, panel: SchemaPanel) -> None:
    """Templates, the schema name (checked live), strict mode and "Use in chat"."""
    templates = load_templates()
    # Two rows, so that no label is cut at 800 px (where the page's columns are narrow).
    template_col, load_col, name_col = st.columns([4, 2, 4], vertical_alignment="bottom")
    template_col.selectbox(
        "Template",
        list(templates),
        key=SchemaKeys.TEMPLATE,
        format_func=lambda name: name.replace("_", " ").capitalize(),
        help="Ready-made strict schemas. Loading one replaces the current schema.",
    )
    load_col.button(
        "Load",
        key=SchemaKeys.LOAD_TEMPLATE,
        icon=":material/download:",
        on_click=_load_template,
        args=(workspace, panel),
        width="stretch",
    )
    name_col.text_input(
        "Schema name",
        key=SchemaKeys.NAME,
        on_change=_set_target,
        args=(workspace, "name", SchemaKeys.NAME),
        help="Sent as json_schema.name: letters, digits, '_' and '-', at most 64 characters.",
    )
    with st.container(horizontal=True, gap="medium"):
        st.toggle(
            "Strict",
            key=SchemaKeys.STRICT,
            on_change=_set_target,
            args=(workspace, "strict", SchemaKeys.STRICT),
            help="json_schema.strict: the reply is guaranteed to match the schema (strict subset only).",
        )
        st.toggle(
            "Use in chat",
            key=SchemaKeys.USE_IN_CHAT,
            on_change=_set_target,
            args=(workspace, "enabled", SchemaKeys.USE_IN_CHAT),
            help="The chat panel then sends this schema as its response_format.",
        )
    st.caption(f"Template: {templates[widget_value(SchemaKeys.TEMPLATE)]['description']}")
    for problem in lint_name(workspace.response_schema.name):
        st.error(md_text(problem.message), icon=":material/badge:")
    _show_error(panel, "template")


# --- builder ------------------------------------------------------------------------------------
def _type_label(f: SchemaField) -> str:
    if f.type == "enum":
        label = f"enum ({len(f.enum_values)})"
    elif f.type == "array":
        label = f"array of {f.item_type or 'string'}"
    elif f.type == "object":
        label = f"object ({len(f.children)})"
    else:
        label = f.type
    return label + (" · nullable" if f.nullable else "") + (" · read-only" if f.read_only else "")


def _attribute_inputs(f: SchemaField, key: Callable[[str], str], on_change: Callable[[str], dict[str, Any]]) -> None:
    """The inputs for ``f``'s attributes; which ones show depends on the (selected) type.

    Values go through session state, never ``value=``: a widget keeps its browser-side value when
    only its default changes, so a reset (deleted key) is refilled here, which the browser then shows.
    """

    def widget(attr: str, value: Any) -> dict[str, Any]:
        widget_key = key(attr)
        if widget_value(widget_key, _MISSING) is _MISSING:
            set_widget_value(widget_key, value)
        return {"key": widget_key, **on_change(attr)}

    # Name and type one under the other: side by side, a narrow column cuts the type's name.
    st.text_input("Name", **widget("name", f.name))
    kind = st.selectbox("Type", FIELD_TYPES, **widget("type", f.type))
    st.text_input("Description", placeholder="What the model should put here", **widget("description", f.description))
    st.checkbox("Nullable (may be null: strict mode's way to make a field optional)", **widget("nullable", f.nullable))
    left, right = st.columns(2)
    if kind == "enum":
        st.text_area("Allowed values, one per line", height=100, **widget("enum_values", enum_lines(f.enum_values)))
    elif kind == "string":
        formats = ["", *STRING_FORMATS, *([f.format] if f.format and f.format not in STRING_FORMATS else [])]
        left.selectbox(
            "Format", formats, format_func=lambda value: value or "(none)", **widget("format", f.format or "")
        )
        right.text_input("Pattern (regex)", **widget("pattern", f.pattern or ""))
    elif kind in ("number", "integer"):
        integer = kind == "integer" and all(isinstance(v, int | None) for v in (f.minimum, f.maximum))
        number: dict[str, Any] = {"step": 1} if integer else {"step": 0.1, "format": "%g"}
        for column, attr in ((left, "minimum"), (right, "maximum")):
            settings = widget(attr, getattr(f, attr))
            state = widget_value(settings["key"])
            if state is not None and isinstance(state, int) != integer:  # the type changed: int <-> float
                set_widget_value(settings["key"], int(state) if integer else float(state))
            column.number_input(attr.capitalize(), **number, **settings)
    elif kind == "array":
        item_type = left.selectbox("Item type", ITEM_TYPES, **widget("item_type", f.item_type or "string"))
        if item_type == "enum":
            right.text_area(
                "Allowed item values, one per line",
                height=100,
                **widget("item_enum_values", enum_lines(f.item_enum_values)),
            )
        low, high = st.columns(2)
        low.number_input("Min items", min_value=0, step=1, **widget("min_items", f.min_items))
        high.number_input("Max items", min_value=0, step=1, **widget("max_items", f.max_items))


def _field_actions(workspace: Workspace, panel: SchemaPanel, path: tuple[str, ...], index: int, count: int) -> None:
    with st.container(horizontal=True, gap="small"):
        st.button(
            "Up",
            key=SchemaKeys.action(path, "up"),
            icon=":material/arrow_upward:",
            disabled=index == 0,
            on_click=_on_move,
            args=(workspace, panel, path, -1),
        )
        st.button(
            "Down",
            key=SchemaKeys.action(path, "down"),
            icon=":material/arrow_downward:",
            disabled=index == count - 1,
            on_click=_on_move,
            args=(workspace, panel, path, 1),
        )
        st.button(
            "Delete",
            key=SchemaKeys.action(path, "delete"),
            icon=":material/delete:",
            on_click=_on_delete,
            args=(workspace, panel, path),
        )


def _field_list(workspace: Workspace, panel: SchemaPanel, fields: list[SchemaField], parent: tuple[str, ...]) -> None:
    """One expander per field; sub-fields of objects and arrays of objects in nested expanders."""
    for index, f in enumerate(fields):
        path = (*parent, f.name)
        with st.expander(f"{md_code(f.name)} · {_type_label(f)}", expanded=panel.focus[: len(path)] == path):
            _field_actions(workspace, panel, path, index, len(fields))
            if f.read_only:
                st.caption(
                    "Read-only here (a $ref, a union or another construct the builder cannot edit): "
                    "edit it in the JSON tab."
                )
                st.json(f.raw, expanded=False)
                continue

            def on_change(attr: str, path: tuple[str, ...] = path) -> dict[str, Any]:
                return {"on_change": _on_attribute, "args": (workspace, panel, path, attr)}

            def key(attr: str, path: tuple[str, ...] = path) -> str:
                return SchemaKeys.field(path, attr)

            _attribute_inputs(f, key, on_change)
            if f.type == "object":
                st.caption(f"Fields of {md_code(f.name)}")
                _field_list(workspace, panel, f.children, path)
            elif f.type == "array" and f.item_type == "object":
                st.caption(f"Fields of each {md_code(f.name)} item")
                _field_list(workspace, panel, f.item_fields, path)


def _parent_label(path: tuple[str, ...]) -> str:
    return " › ".join(path) if path else "(top level)"


def _add_field_form(workspace: Workspace, panel: SchemaPanel, fields: list[SchemaField]) -> None:
    with st.container(border=True):
        st.markdown("**Add a field**")
        parents = parent_paths(fields)
        if len(parents) > 1:
            st.selectbox("Add to", parents, key=SchemaKeys.ADD_PARENT, format_func=_parent_label)
        _attribute_inputs(SchemaField(name=""), SchemaKeys.add, lambda attr: {})
        st.button(
            "Add field",
            key=SchemaKeys.ADD,
            icon=":material/add:",
            type="primary",
            on_click=_on_add,
            args=(workspace, panel),
        )
        _show_error(panel, "add")


def _builder_summary(target: ResponseSchema) -> None:
    """What a schema too large for the builder holds, instead of one expander per field."""
    schema = target.current()
    properties = schema.get("properties")
    top = list(properties) if isinstance(properties, dict) else []
    shown = ", ".join(top[:12]) + (f", … ({len(top) - 12:,} more)" if len(top) > 12 else "")
    st.info(
        f"This schema has {property_count(schema):,} fields in all, more than the builder draws "
        f"({input_limits().builder_max_fields:,}): edit it in the JSON tab. "
        f"Top-level fields: {md_text(shown or 'none')}.",
        icon=":material/data_object:",
    )


def field_builder(workspace: Workspace, panel: SchemaPanel) -> None:
    """The visual builder: the fields as nested expanders, then the "Add a field" form."""
    st.subheader("Fields")
    target = workspace.response_schema
    if not target.fits_builder():
        _builder_summary(target)
        return
    try:
        fields = target.fields()
    except PlaygroundError as error:
        st.info(f"{md_text(error.message)} The JSON tab still edits it.", icon=":material/data_object:")
        return
    _show_error(panel, "builder")
    properties = [f for f in fields if not f.root_keyword]
    if not properties:
        st.caption("No fields yet: add one below, load a template, or import a schema.")
    _field_list(workspace, panel, properties, ())
    if root_keywords := [f for f in fields if f.root_keyword]:
        with st.expander(f"Root keywords ({md_text(', '.join(f.name for f in root_keywords))}) · read-only"):
            st.caption("Definitions and other root keywords are kept as they are; edit them in the JSON tab.")
            for f in root_keywords:
                st.json({f.name: f.raw}, expanded=False)
    _add_field_form(workspace, panel, fields)


# --- linter -------------------------------------------------------------------------------------
def strict_linter(workspace: Workspace, panel: SchemaPanel) -> None:
    """Live strict-mode check for the chosen provider, with one-click fixes."""
    default = provider_for(workspace.connection).lint_target
    st.subheader("Strict-mode check")
    provider = st.segmented_control(
        "Rules of",
        LINT_PROVIDERS,
        default=default,
        required=True,
        key=SchemaKeys.PROVIDER,
        format_func=lambda name: PROVIDER_LABELS[name],
        help="Azure OpenAI documents a narrower keyword subset and older limits than OpenAI.",
    )
    violations = _lint(schema_json(workspace.response_schema.current()), provider)
    if not violations:
        st.success(f"No strict-mode problems for {provider_rules(provider).label}.", icon=":material/verified:")
    else:
        fixable = sum(v.fixable for v in violations)
        st.warning(
            f"{len(violations)} strict-mode problem(s) for {provider_rules(provider).label}; "
            f"{fixable} can be fixed automatically.",
            icon=":material/rule:",
        )
        st.markdown(
            "\n".join(
                f"- {md_code(v.path)} {md_text(v.message)}" + (" *(fixable)*" if v.fixable else "") for v in violations
            )
        )
        st.button(
            f"Fix {fixable} fixable",
            key=SchemaKeys.FIX,
            icon=":material/auto_fix_high:",
            disabled=not fixable,
            on_click=_fix,
            args=(workspace, panel, provider),
        )
    _show_error(panel, "fix")
    if panel.notes:
        st.info("Fixed:\n" + "\n".join(f"- {md_text(note)}" for note in panel.notes), icon=":material/build:")


# --- tabs: JSON, import, export, view code ------------------------------------------------------
def _raw_tab(workspace: Workspace, panel: SchemaPanel) -> None:
    st.text_area(
        "JSON Schema",
        key=SchemaKeys.RAW,
        height=360,
        persist_state="session",
        help="Edit and apply. A response_format or a whole request body is accepted too. $defs and $ref "
        "(recursion too) work here and show read-only in the builder.",
    )
    with st.container(horizontal=True, gap="small"):
        st.button(
            "Apply JSON",
            key=SchemaKeys.APPLY_RAW,
            icon=":material/check:",
            type="primary",
            on_click=_apply_raw,
            args=(workspace, panel),
        )
        st.button(
            "Discard edits", key=SchemaKeys.DISCARD_RAW, icon=":material/undo:", on_click=_discard_raw, args=(panel,)
        )
    if "raw" in panel.errors:
        st.error(
            f"{md_text(panel.errors['raw'])} Nothing was changed: your text is kept, and the schema is the one "
            "before this edit.",
            icon=":material/error:",
        )
    elif widget_value(SchemaKeys.RAW_KEPT):
        st.warning(
            "The schema changed elsewhere (builder, fix, import or template) while this editor held edits "
            "you had not applied: your text is kept. Apply it to replace that change, or discard it.",
            icon=":material/sync_problem:",
        )


def _import_tab(workspace: Workspace, panel: SchemaPanel) -> None:
    st.radio(
        "Paste", list(IMPORT_KINDS), format_func=IMPORT_KINDS.__getitem__, key=SchemaKeys.IMPORT_KIND, horizontal=True
    )
    st.text_area(
        "JSON to import",
        key=SchemaKeys.IMPORT_TEXT,
        height=200,
        persist_state="session",
        placeholder='{"title": "Example", "score": 3, "tags": ["a", "b"]}',
    )
    st.button(
        "Import",
        key=SchemaKeys.IMPORT,
        icon=":material/upload:",
        type="primary",
        on_click=_import,
        args=(workspace, panel),
        help="Replaces the current schema.",
    )
    _show_error(panel, "import")


# Derived from the schema's JSON text, once per change rather than on every rerun (a large schema
# takes tens of ms each). Session-scoped: a user's schema is never shared with other sessions.
@st.cache_resource(scope="session", max_entries=4, show_spinner=False)
def _lint(schema_text: str, provider: str) -> list[Violation]:
    return lint_strict(json.loads(schema_text), provider)


@st.cache_resource(scope="session", max_entries=4, show_spinner=False)
def _pydantic_source(schema_text: str, root_name: str) -> str:
    return to_pydantic_source(json.loads(schema_text), root_name)


def _export_tab(workspace: Workspace) -> None:
    target = workspace.response_schema
    schema = target.current()
    st.download_button(
        "Download JSON Schema",
        schema_json(schema),
        file_name=f"{target.name or 'schema'}.schema.json",
        mime="application/json",
        key=SchemaKeys.DOWNLOAD_SCHEMA,
        icon=":material/download:",
    )
    try:
        payload = response_format_payload(schema, target.name, strict=target.strict)
    except PlaygroundError as error:
        st.error(md_text(error))
    else:
        st.caption("response_format")
        st.code(schema_json(payload), language="json")
    st.caption("Pydantic models")
    try:
        source = _pydantic_source(schema_json(schema), target.name or "Response")
    except PlaygroundError as error:
        st.error(md_text(error))
    else:
        st.download_button(
            "Download models.py",
            source,
            file_name="models.py",
            mime="text/x-python",
            key=SchemaKeys.DOWNLOAD_PYDANTIC,
            icon=":material/download:",
        )
        st.code(source, language="python")


def _code_tab(workspace: Workspace) -> None:
    def run_request() -> ChatRequest:
        test_input = widget_value(SchemaKeys.TEST_INPUT) or ""
        return schema_run_request(workspace, test_input, widget_value(SchemaKeys.MODE, "json_schema"))

    code_view(workspace, run_request, "Run sends")


def schema_tabs(workspace: Workspace, panel: SchemaPanel) -> None:
    raw, importing, export, code = st.tabs(["JSON", "Import", "Export", "View code"])
    with raw:
        _raw_tab(workspace, panel)
    with importing:
        _import_tab(workspace, panel)
    with export:
        _export_tab(workspace)
    with code:
        _code_tab(workspace)


# --- running ------------------------------------------------------------------------------------
def _stream(workspace: Workspace, panel: SchemaPanel, result: StructuredResult) -> None:
    """Stream the run, drawing the reply as it arrives; Stop (any click) keeps the partial reply."""
    panel.result = result
    st.button("Stop", key=SchemaKeys.STOP, icon=":material/stop_circle:", help="Stop and keep the partial reply")
    text = st.empty()
    for _ in workspace.stream_schema_run(result):
        text.code((result.text or result.refusal or "") + " ▌", language="json", wrap_lines=True)
    st.rerun()


def _reply_view(result: StructuredResult) -> None:
    parsed = result.validation.parsed if result.validation else None
    if parsed is None:
        if result.text:
            st.code(result.text, language="json", wrap_lines=True)
        return
    tables = reply_tables(parsed)
    view = "Tree"
    if tables:
        view = st.segmented_control("View", RESULT_VIEWS, default="Tree", required=True, key=SchemaKeys.VIEW)
    if view == "Tree":
        st.json(parsed, expanded=True)
    else:
        for path, rows in tables.items():
            st.caption(md_code(path))
            st.dataframe(rows, hide_index=True)
    with st.expander("Raw reply"):
        st.code(result.text, language="json", wrap_lines=True)


def _result(result: StructuredResult, spec: ModelSpec) -> None:
    with st.container(horizontal=True, vertical_alignment="center", key=SchemaKeys.VERDICT):
        verdict_badge(result.verdict)
        strict = "strict" if result.strict else "not strict"
        mode = f"json_schema, {strict}" if result.mode == "json_schema" else "json_object (schema in the prompt)"
        st.caption(f"Mode: {mode}")
    if result.refusal:
        st.warning("The model refused to answer (message.refusal):", icon=":material/block:")
        st.code(result.refusal, language=None, wrap_lines=True)
    if result.truncated:
        st.warning(
            "The JSON is truncated: the reply hit the output limit (finish_reason: length) or stopped "
            "mid-document. Raise max completion tokens or ask for less.",
            icon=":material/content_cut:",
        )
    if result.reply.status is Status.STOPPED:
        st.caption(":material/stop_circle: Stopped: partial reply, incomplete.")
    if result.reply.error is not None:
        st.error(md_text(result.reply.error.message), icon=":material/error:")
    if result.schema_problem:
        st.error(md_text(result.schema_problem), icon=":material/error:")
    if result.validation and result.validation.errors:
        st.markdown(f"**{len(result.validation.errors)} problem(s), by field:**")
        st.code(
            "\n".join(f"{e.path}  ({e.field}): {e.message}" for e in result.validation.errors),
            language=None,
            wrap_lines=True,
        )
    _reply_view(result)
    if result.stats is not None and result.reply.status is not Status.FAILED:
        st.caption(stats_line(result.stats, spec.is_estimate) + " · not part of the chat")


def run_panel(workspace: Workspace, panel: SchemaPanel) -> None:
    """Test input, mode and Run; the streamed reply, then its check against the schema."""
    st.subheader("Test run")
    input_col, options_col = st.columns([3, 1])
    input_col.text_area(
        "Test input (the user message)",
        key=SchemaKeys.TEST_INPUT,
        height=120,
        persist_state="session",
        placeholder="The shipping took two weeks and the box was damaged, but support refunded me quickly.",
    )
    with options_col:
        mode = cast(RunMode, st.radio("Mode", list(RUN_MODES), format_func=RUN_MODES.__getitem__, key=SchemaKeys.MODE))
        run = st.button("Run", key=SchemaKeys.RUN, icon=":material/play_arrow:", type="primary", width="stretch")
    st.caption("A run is its own request (the chat's system prompt and this input) and leaves the chat unchanged.")
    if run:
        panel.errors.pop("run", None)
        try:
            result = prepare_run(workspace, widget_value(SchemaKeys.TEST_INPUT) or "", mode)
        except PlaygroundError as error:
            panel.errors["run"] = str(error)
        else:
            _stream(workspace, panel, result)
    _show_error(panel, "run")
    if panel.result is not None:
        _result(panel.result, workspace.model_spec())
