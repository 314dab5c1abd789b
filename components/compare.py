"""The Compare panel (issue 13): side by side, test sets and runs, and "Check on another model".

Each column is a variant: the current setup or a prompt library version, through a connection
(the sidebar's, or one the operator names in the secrets), on a model or deployment, with the
parameters that model accepts (the chat's parameters form). One input (a template: ``{{name}}``
filled from the chat's variables, or from each row of a test set) goes to every column at once.
Runs go on a thread of their own (:mod:`playground.evals.background`): their state is a plain
RunState, saved in the database as it grows, so a reload finds it; progress is drawn by a
fragment that reruns itself.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import streamlit as st
from pydantic import SecretStr
from sqlalchemy.exc import SQLAlchemyError

from components import batch_runs
from components import format as fmt
from components.chat_view import form_params, param_key, parameters_form
from components.library import library_store_db
from components.state import (
    configured_named_connections,
    get_store,
    get_workspace,
    pop_widget_value,
    server_defaults,
    set_widget_value,
    widget_value,
)
from playground.client import PlaygroundClient
from playground.connection import DEFAULT_AZURE_API_VERSION, PROVIDER_LABELS, ConnectionSettings
from playground.errors import PlaygroundError
from playground.evals import (
    ClientCompleter,
    ClientJudge,
    ColumnUpdate,
    ContainsGrader,
    CostGrader,
    ExactGrader,
    FieldEqualsGrader,
    Grader,
    JsonSchemaGrader,
    JudgeGrader,
    LatencyGrader,
    RegexGrader,
    RunConfig,
    RunState,
    TestRow,
    TestSet,
    Variant,
    export_csv,
    export_json,
    failing_first,
    import_test_set,
    migration_report,
    stream_side_by_side,
    summarize,
    word_diff,
)
from playground.evals.background import RunHandle, live_run, start_run
from playground.evals.runs import check_spend_cap
from playground.evals.setups import variant_for_column, variant_from_setup
from playground.evals.sidebyside import MAX_COLUMNS, MIN_COLUMNS
from playground.evals.variants import DEFAULT_CONNECTION
from playground.providers import provider_for, visitor_connection
from playground.registry import ModelSpec, find_entry, model_ids, resolve_model
from playground.request import params_summary
from playground.store import RunInfo, Store, apply_session_document, session_document_from_workspace
from playground.workspace import Workspace

COMPARE_PAGE = "pages/compare.py"
CURRENT_SETUP = "Current setup"
BASELINE_MODEL = "gpt-4.1-mini"
AUTOMATIC = "(automatic)"
#: A column's width: four side by side on a wide page, two a row at 800 px beside the sidebar.
COLUMN_WIDTH_PX = 220
#: The session connection form's fields (ConnectionSettings names) and their widget keys.
NEW_CONNECTION_FIELDS = {
    name: f"compare.new_connection.{name}"
    for name in ("azure_endpoint", "deployment", "api_version", "base_url", "model")
}
GRADER_KINDS = {
    "regex": "Regex matches",
    "contains": "Contains",
    "exact": "Exact match",
    "json_schema": "JSON-schema valid",
    "field_equals": "Field equals",
    "latency": "Latency at most (s)",
    "cost": "Cost at most (USD)",
    "llm_judge": "LLM judge (rubric)",
}


class CompareKeys:
    TABS = "compare.tabs"
    COUNT = "compare.count"
    INPUT = "compare.input"
    SEND = "compare.send"
    NEW_NAME = "compare.new_connection.name"
    NEW_PROVIDER = "compare.new_connection.provider"
    NEW_KEY = "compare.new_connection.key"
    NEW_ADD = "compare.new_connection.add"
    DIFF_A = "compare.diff_a"
    DIFF_B = "compare.diff_b"
    SAVE_COLUMN = "compare.save_column"
    SAVE_NAME = "compare.save_name"
    SAVE = "compare.save"
    OUTCOME = "compare.outcome"
    RUN_OUTCOME = "compare.run_outcome"  # what starting a run (or the migration check) said: by its button
    UPLOAD = "compare.upload"
    OPEN_SET = "compare.open_set"
    OPEN = "compare.open"
    EDITOR = "compare.editor"
    SET_NAME = "compare.set_name"
    SAVE_SET = "compare.save_set"
    GRADER_KIND = "compare.grader_kind"
    GRADER_VALUE = "compare.grader_value"
    GRADER_EXTRA = "compare.grader_extra"
    ADD_GRADER = "compare.add_grader"
    CONCURRENCY = "compare.concurrency"
    SPEND_CAP = "compare.spend_cap"
    RUN = "compare.run"
    CANCEL = "compare.cancel"
    RESUME = "compare.resume"
    PAST_RUN = "compare.past_run"
    MIGRATE_SET = "compare.migrate_set"
    MIGRATE_MODEL = "compare.migrate_model"
    MIGRATE = "compare.migrate"

    @staticmethod
    def column(part: str, index: int) -> str:
        return f"compare.col.{part}.{index}"

    @staticmethod
    def param(name: str, index: int) -> str:
        """The widget key of parameter ``name`` in column ``index``'s parameters form."""
        return param_key(CompareKeys.column("params", index), name)

    @staticmethod
    def remove_grader(index: int) -> str:
        return f"compare.remove_grader.{index}"


@dataclass
class ComparePanel:
    """What the panel keeps between reruns: the last side-by-side outputs, the test set being edited
    with its graders, and which runs it shows (their state lives in the run registry / database)."""

    outputs: list[ColumnUpdate | None] = field(default_factory=list)
    variants: list[Variant] = field(default_factory=list)
    test_set: TestSet | None = None
    graders: list[Grader] = field(default_factory=list)
    upload: tuple[str, int] | None = None  # (name, size) of the file imported last
    run_id: str | None = None
    migration_run_id: str | None = None
    #: Connections the user added for this session (their keys live here, in this session's server
    #: memory, only: never saved or exported; a variant stores the name).
    connections: dict[str, ConnectionSettings] = field(default_factory=dict)


def compare_state() -> ComparePanel:
    """This session's Compare panel state (made on the page's first draw)."""
    store = get_store()
    if store.compare_panel is None:
        store.compare_panel = ComparePanel()
    return store.compare_panel


def _tell(kind: str, message: str, key: str = CompareKeys.OUTCOME) -> None:
    """Say what an action did, at the top of the panel (``key``: or where _show_outcome(key) is drawn)."""
    set_widget_value(key, (kind, message))


def _show_outcome(key: str = CompareKeys.OUTCOME) -> None:
    if outcome := pop_widget_value(key):
        kind, message = outcome
        (st.success if kind == "success" else st.error)(fmt.md_text(message))


# --- variants ---------------------------------------------------------------------------------------
def _sources(store: Store | None) -> list[str]:
    if store is None:
        return [CURRENT_SETUP]
    try:
        prompts = store.prompts.list_all()
    except (PlaygroundError, SQLAlchemyError):
        return [CURRENT_SETUP]
    return [CURRENT_SETUP, *(f"{p.name} v{v}" for p in prompts for v in range(p.latest_version, 0, -1))]


def _setup_of(source: str, workspace: Workspace, store: Store | None) -> tuple[Workspace, str | None]:
    """The Workspace a column's source stands for, and its ``name@version`` (None: the current setup)."""
    if source == CURRENT_SETUP or store is None:
        return workspace, None
    name, _, version = source.rpartition(" v")
    document = store.prompts.get(name, int(version)).setup
    return apply_session_document(document, workspace.connection), f"{name}@{version}"


def _model_options(workspace: Workspace) -> list[str]:
    return list(dict.fromkeys([workspace.connection.request_model, *workspace.available_models, *model_ids()]))


def column_connections(workspace: Workspace) -> dict[str, ConnectionSettings]:
    """What a column can send through, by reference: the sidebar's connection (``default``) and the
    operator's named connections (``[connections.<name>]`` in the server secrets) and those the user
    added for this session."""
    named, _ = configured_named_connections()
    own = {name: c for name, c in compare_state().connections.items() if name not in named}
    return {
        DEFAULT_CONNECTION: workspace.connection,
        **{n: c for n, c in {**named, **own}.items() if n != DEFAULT_CONNECTION},
    }


def _connection_label(name: str) -> str:
    """A connection's name as a column shows it (its provider is in the column's caption)."""
    return "Sidebar" if name == DEFAULT_CONNECTION else name


def _add_connection(panel: ComparePanel) -> None:
    name = (widget_value(CompareKeys.NEW_NAME) or "").strip()
    kind = widget_value(CompareKeys.NEW_PROVIDER, "openai")
    key = widget_value(CompareKeys.NEW_KEY) or ""
    typed = {
        field_name: (widget_value(widget_key) or "").strip()
        for field_name, widget_key in NEW_CONNECTION_FIELDS.items()
        if widget_value(widget_key)
    }
    named, _ = configured_named_connections()
    try:
        if not name or name == DEFAULT_CONNECTION or name in named:
            raise PlaygroundError.invalid_input(
                "Give the connection a name of its own (not one the operator configured)."
            )
        settings = ConnectionSettings.model_validate(
            {"provider": kind, "api_key": SecretStr(key) if key else None, **typed}
        )
        panel.connections[name] = visitor_connection(settings, server_defaults())
    except PlaygroundError as error:
        _tell("error", f"Not added: {error.message}")
        return
    for widget_key in (CompareKeys.NEW_NAME, CompareKeys.NEW_KEY, *NEW_CONNECTION_FIELDS.values()):
        pop_widget_value(widget_key)
    _tell("success", f"Added the connection {name} for this session: pick it in a column.")


def _remove_connection(panel: ComparePanel, name: str) -> None:
    panel.connections.pop(name, None)


def session_connections(panel: ComparePanel) -> None:
    """Add a connection for this session (its key stays in this session's memory), unless the
    operator fixed the connections; the ones added, each with Remove."""
    if server_defaults().locked:
        return
    with st.expander("Add a connection for this session", icon=":material/add_link:"):
        kind = st.selectbox(
            "Provider", list(PROVIDER_LABELS), key=CompareKeys.NEW_PROVIDER, format_func=PROVIDER_LABELS.__getitem__
        )
        fields = provider_for(ConnectionSettings.model_validate({"provider": kind})).fields
        st.text_input("Name", key=CompareKeys.NEW_NAME, placeholder="e.g. staging")
        if fields.azure_resource:
            st.text_input(
                "Endpoint", key=NEW_CONNECTION_FIELDS["azure_endpoint"], placeholder="https://RESOURCE.openai.azure.com"
            )
            st.text_input("Deployment name", key=NEW_CONNECTION_FIELDS["deployment"])
        if fields.api_version:
            st.text_input(
                "API version", key=NEW_CONNECTION_FIELDS["api_version"], placeholder=DEFAULT_AZURE_API_VERSION
            )
        if fields.base_url is not None:
            st.text_input(
                "Base URL" if fields.base_url == "required" else "Base URL (optional)",
                key=NEW_CONNECTION_FIELDS["base_url"],
                placeholder=fields.base_url_placeholder,
            )
        if fields.model:
            st.text_input("Model", key=NEW_CONNECTION_FIELDS["model"], placeholder="gpt-4.1-mini")
        st.text_input(
            "API key" + (" (optional)" if fields.key_optional else ""),
            type="password",
            key=CompareKeys.NEW_KEY,
            help="Kept only in this browser session's server memory: never saved, exported or logged.",
        )
        st.button("Add", key=CompareKeys.NEW_ADD, on_click=_add_connection, args=(compare_state(),))
        for name, settings in compare_state().connections.items():
            with st.container(horizontal=True, vertical_alignment="center"):
                st.caption(f"{fmt.md_text(name)} · {fmt.md_code(provider_for(settings).endpoint_label())}")
                st.button(
                    "Remove",
                    key=f"compare.remove_connection.{name}",
                    on_click=_remove_connection,
                    args=(compare_state(), name),
                    icon=":material/link_off:",
                )


def completer_for(workspace: Workspace, variants: list[Variant]) -> ClientCompleter:
    """A client per connection the variants reference: the session's own for the sidebar's; a
    variant naming a connection that is not configured (any more) fails on its own."""
    connections = column_connections(workspace)
    clients = {DEFAULT_CONNECTION: workspace.client()}
    for name in sorted({variant.connection for variant in variants} - {DEFAULT_CONNECTION}):
        if name in connections:
            clients[name] = PlaygroundClient(connections[name])
    return ClientCompleter(clients)


@dataclass(frozen=True)
class _Column:
    """One column as its widgets set it (their defaults before they are drawn)."""

    source: str
    setup: Workspace
    version: str | None
    connection: str
    settings: ConnectionSettings
    model: str
    registry_entry: str | None

    def spec(self) -> ModelSpec:
        spec = resolve_model(self.model, self.registry_entry)
        return spec.with_context_cap(provider_for(self.settings).context_cap())


def _column(
    index: int,
    workspace: Workspace,
    store: Store | None,
    connections: dict[str, ConnectionSettings],
    setups: dict[str, tuple[Workspace, str | None]],
) -> _Column:
    """``setups`` keeps the setups read this run by source (a library version is read once)."""
    source = widget_value(CompareKeys.column("source", index), CURRENT_SETUP)
    if source not in setups:
        setups[source] = _setup_of(source, workspace, store)
    setup, version = setups[source]
    name = widget_value(CompareKeys.column("connection", index), DEFAULT_CONNECTION)
    if name not in connections:
        name = DEFAULT_CONNECTION
    settings = setup.connection if name == DEFAULT_CONNECTION else connections[name]
    if provider_for(settings).fields.model:
        model = widget_value(_choice_key("model", index, name)) or settings.request_model
    else:  # Azure: the deployment name is what the request's model field carries
        model = (widget_value(_choice_key("deployment", index, name)) or "").strip() or settings.request_model
    own_pin = settings.registry_entry if model == settings.request_model else None
    pinned = widget_value(_choice_key("entry", index, name), own_pin or AUTOMATIC)
    return _Column(source, setup, version, name, settings, model, None if pinned == AUTOMATIC else pinned)


def _choice_key(part: str, index: int, connection: str) -> str:
    """Column ``index``'s model, deployment or price-entry widget on ``connection``: one per
    connection, so a choice made for one connection is not carried to another."""
    return CompareKeys.column(part if connection == DEFAULT_CONNECTION else f"{part}@{connection}", index)


def _params_prefix(index: int) -> str:
    return CompareKeys.column("params", index)


def column_count() -> int:
    return int(widget_value(CompareKeys.COUNT, MIN_COLUMNS))


def column_variants(workspace: Workspace, store: Store | None, next_message: str) -> list[Variant]:
    """The variants the columns are set to (their widgets' values), ``next_message`` after each."""
    connections = column_connections(workspace)
    setups: dict[str, tuple[Workspace, str | None]] = {}
    variants = []
    for index in range(column_count()):
        column = _column(index, workspace, store, connections, setups)
        spec = column.spec()
        variants.append(
            variant_for_column(
                column.setup,
                variant_id=f"col{index + 1}",
                label=f"{index + 1}: {column.source} · {column.model}"
                + ("" if column.connection == DEFAULT_CONNECTION else f" · {column.connection}"),
                connection=column.connection,
                settings=column.settings,
                model=column.model,
                registry_entry=column.registry_entry,
                params=form_params(column.setup.params, spec, _params_prefix(index)),
                next_message=next_message,
                prompt_version=column.version,
            )
        )
    return variants


def _column_form(
    index: int,
    workspace: Workspace,
    store: Store | None,
    sources: list[str],
    connections: dict[str, ConnectionSettings],
    setups: dict[str, tuple[Workspace, str | None]],
) -> None:
    """One column: its prompt, connection, model or deployment, and the shared parameters form."""
    st.markdown(f"**Column {index + 1}**")
    st.selectbox("Prompt", sources, key=CompareKeys.column("source", index))
    if len(connections) > 1:
        st.selectbox(
            "Connection",
            list(connections),
            key=CompareKeys.column("connection", index),
            format_func=_connection_label,
            help="Sidebar: the connection set in the sidebar. The others are the operator's, or added above "
            "for this session.",
        )
    column = _column(index, workspace, store, connections, setups)
    provider = provider_for(column.settings)
    if provider.fields.model:
        own = column.settings.request_model
        models = _model_options(workspace) if column.connection == DEFAULT_CONNECTION else [own, *model_ids()]
        st.selectbox(
            "Model",
            list(dict.fromkeys(models)),
            key=_choice_key("model", index, column.connection),
            accept_new_options=True,
        )
    else:
        st.text_input(
            "Deployment",
            value=column.settings.deployment,
            key=_choice_key("deployment", index, column.connection),
            help="The Azure deployment name the request goes to.",
        )
    column = _column(index, workspace, store, connections, setups)
    spec = column.spec()
    with st.popover("Parameters", icon=":material/tune:", width="stretch"):
        if provider.fields.registry_entry or find_entry(column.model) is None:
            entries = [AUTOMATIC, *model_ids()]
            chosen = column.registry_entry or AUTOMATIC
            st.selectbox(
                "Prices and limits from",
                entries,
                index=entries.index(chosen) if chosen in entries else 0,
                key=_choice_key("entry", index, column.connection),
                help="Which registry model the deployment or model runs (its figures are then labelled estimates). "
                "Automatic: the registry's own entry, or none (cost unknown).",
            )
            column = _column(index, workspace, store, connections, setups)
            spec = column.spec()
        params = parameters_form(column.setup.params, spec, _params_prefix(index))
    priced = f" · priced as {column.registry_entry}" if column.registry_entry else ""
    st.caption(fmt.md_text(f"{provider.label}{priced} · {params_summary(params, spec)}"))
    if spec.is_estimate and column.registry_entry is None:
        st.caption(f":material/help: {fmt.md_text(column.model)} is not in the registry: its cost is unknown.")


def column_boxes(count: int, *, border: bool = True) -> list[Any]:
    """``count`` boxes side by side. Two share the width; three or four are COLUMN_WIDTH_PX wide
    each and wrap onto another row where the page is too narrow (four at 800 px beside the sidebar:
    two rows of two), so no selectbox is cut to a few letters."""
    row = st.container(horizontal=True, gap="small")
    width: int | Literal["stretch"] = "stretch" if count <= 2 else COLUMN_WIDTH_PX
    return [row.container(border=border, width=width) for _ in range(count)]


def column_settings(workspace: Workspace, store: Store | None) -> None:
    """2 to 4 columns, each a prompt (current setup or a library version), a connection, a model or
    deployment, and the parameters that model accepts."""
    st.segmented_control(
        "Columns", list(range(MIN_COLUMNS, MAX_COLUMNS + 1)), key=CompareKeys.COUNT, default=MIN_COLUMNS
    )
    sources, connections = _sources(store), column_connections(workspace)
    setups: dict[str, tuple[Workspace, str | None]] = {}
    for index, box in enumerate(column_boxes(column_count())):
        with box:
            _column_form(index, workspace, store, sources, connections, setups)


# --- side by side ------------------------------------------------------------------------------------
def _stats(update: ColumnUpdate) -> str:
    completion = update.completion
    if completion is None:
        return ""
    return (
        f"in {completion.prompt_tokens:,} · out {completion.completion_tokens:,} · "
        f"cost {fmt.cost(update.cost_usd, update.cost_is_estimate)} · {fmt.seconds(completion.latency_s)} · "
        f"finish: {completion.finish_reason or 'n/a'}"
    )


def _draw_output(update: ColumnUpdate | None) -> None:
    if update is None:
        return
    if update.text:
        st.markdown(update.text)  # model Markdown, no HTML (the CSP stops remote images)
    if update.error is not None:
        st.error(fmt.md_text(update.error.message), icon=":material/error:")
    elif update.done and update.completion is None:
        st.caption("Stopped: partial reply.")
    if caption := _stats(update):
        st.caption(caption)


def send_to_all(workspace: Workspace, store: Store | None, panel: ComparePanel, text: str) -> None:
    """Stream ``text`` to every column at once, each output drawn as it arrives (and kept in the panel's
    state, so a Stop keeps the partial texts)."""
    try:
        variants = column_variants(workspace, store, text)
        updates = stream_side_by_side(variants, workspace.filled_variables(), completer_for(workspace, variants))
        updates = workspace.record_compare_replies(updates)  # each reply counts in the session's cost
        first = next(updates)
    except PlaygroundError as error:
        st.error(f"{fmt.md_text(error.message)} Nothing was sent.", icon=":material/data_object:")
        return
    panel.variants, panel.outputs = variants, [None] * len(variants)
    places = [box.empty() for box in column_boxes(len(variants), border=False)]
    update: ColumnUpdate | None = first
    while update is not None:
        panel.outputs[update.column] = update
        with places[update.column].container():
            st.caption(fmt.md_text(variants[update.column].title))
            _draw_output(update)
        update = next(updates, None)
    st.rerun()


def word_diff_view(panel: ComparePanel) -> None:
    done = [index for index, output in enumerate(panel.outputs) if output is not None and output.done]
    if len(done) < 2:
        return
    st.subheader("Word diff")
    left, right = st.columns(2)
    a = left.selectbox("From column", done, key=CompareKeys.DIFF_A, format_func=lambda i: f"Column {i + 1}")
    b = right.selectbox("To column", done, index=1, key=CompareKeys.DIFF_B, format_func=lambda i: f"Column {i + 1}")
    before, after = panel.outputs[a], panel.outputs[b]
    assert before is not None and after is not None
    parts = []
    for chunk in word_diff(before.text, after.text):
        if chunk.op == "equal":
            parts.append(fmt.md_text(chunk.before))
        if chunk.op in ("delete", "replace") and chunk.before.strip():
            parts.append(f":red-background[~~{fmt.md_text(chunk.before)}~~]")
        if chunk.op in ("insert", "replace") and chunk.after.strip():
            parts.append(f":green-background[{fmt.md_text(chunk.after)}]")
    with st.container(border=True):
        st.markdown(" ".join(part for part in parts if part) or "(both empty)")
    st.caption("Red: only in the first output; green: only in the second.")


def _save_better(workspace: Workspace, store: Store, panel: ComparePanel) -> None:
    index = widget_value(CompareKeys.SAVE_COLUMN, 0)
    name = (widget_value(CompareKeys.SAVE_NAME) or "").strip()
    variant = panel.variants[index]
    try:
        source = widget_value(CompareKeys.column("source", index), CURRENT_SETUP)
        setup, _ = _setup_of(source, workspace, store)
        chosen = apply_session_document(session_document_from_workspace(setup), workspace.connection)
        chosen.set_params(variant.params.model_copy(deep=True))
        chosen.set_connection(chosen.connection.model_copy(update={"model": variant.model}))
        info = store.prompts.save(name, session_document_from_workspace(chosen), f"Chosen in Compare: {variant.title}")
    except (PlaygroundError, SQLAlchemyError) as error:
        _tell("error", f"Not saved: {getattr(error, 'message', type(error).__name__)}")
        return
    _tell("success", f"Saved {info.name} version {info.version}.")


def save_better(workspace: Workspace, store: Store | None, panel: ComparePanel) -> None:
    if store is None or not panel.variants or not any(o is not None and o.done for o in panel.outputs):
        return
    st.subheader("Keep the better one")
    left, right = st.columns([1, 2], vertical_alignment="bottom")
    left.selectbox(
        "Column", list(range(len(panel.variants))), key=CompareKeys.SAVE_COLUMN, format_func=lambda i: f"Column {i + 1}"
    )
    right.text_input("Prompt name", key=CompareKeys.SAVE_NAME, placeholder="e.g. support-reply")
    st.button(
        "Save as a new version",
        key=CompareKeys.SAVE,
        on_click=_save_better,
        args=(workspace, store, panel),
        icon=":material/bookmark_add:",
    )


def side_by_side(workspace: Workspace, store: Store | None, panel: ComparePanel) -> None:
    session_connections(panel)
    column_settings(workspace, store)
    st.text_area(
        "Input (the next user message, sent to every column at once; `{{name}}` variables come from the chat's form)",
        key=CompareKeys.INPUT,
        placeholder="Summarise our refund policy in two sentences.",
    )
    if st.button("Send to all", key=CompareKeys.SEND, type="primary", icon=":material/send:"):
        text = widget_value(CompareKeys.INPUT) or ""
        if not text.strip():
            st.error("Type an input first.")
        else:
            send_to_all(workspace, store, panel, text)
    if panel.outputs:
        for index, box in enumerate(column_boxes(len(panel.outputs))):
            with box:
                st.caption(fmt.md_text(panel.variants[index].title))
                _draw_output(panel.outputs[index])
    word_diff_view(panel)
    save_better(workspace, store, panel)


# --- test sets ---------------------------------------------------------------------------------------
def _table(test_set: TestSet) -> Any:
    import pandas as pd  # loads when a test set is shown, not with the page

    columns = ["id", *test_set.columns, "expected"]
    records = [{"id": row.id, **row.variables, "expected": row.expected or ""} for row in test_set.rows]
    return pd.DataFrame(records, columns=columns).astype(str)


def edited_test_set(name: str, table: Any) -> TestSet:
    """The data editor's table as a test set: empty ids get their row number; empty cells are ""."""
    rows = []
    for number, record in enumerate(table.fillna("").to_dict("records"), start=1):
        values = {str(key): str(value) for key, value in record.items()}
        row_id = values.pop("id", "").strip() or str(number)
        expected = values.pop("expected", "")
        if not any(value.strip() for value in values.values()) and not expected:
            continue
        rows.append(TestRow(id=row_id, variables=values, expected=expected or None))
    try:
        return TestSet(name=name, rows=rows)
    except ValueError as error:
        raise PlaygroundError.invalid_input(f"The test set is not valid: {error}") from None


def _import_upload(panel: ComparePanel) -> None:
    upload = widget_value(CompareKeys.UPLOAD)
    if upload is None:
        return
    try:
        panel.test_set = import_test_set(upload.name, upload.getvalue())
    except PlaygroundError as error:
        _tell("error", error.message)
        return
    pop_widget_value(CompareKeys.EDITOR)
    set_widget_value(CompareKeys.SET_NAME, panel.test_set.name)
    _tell("success", f"Imported {len(panel.test_set.rows)} rows from {upload.name}.")


def _open_saved(store: Store, panel: ComparePanel) -> None:
    name = widget_value(CompareKeys.OPEN_SET)
    try:
        panel.test_set, panel.graders = store.evals.get_test_set(name)
    except (PlaygroundError, SQLAlchemyError) as error:
        _tell("error", getattr(error, "message", str(error)))
        return
    pop_widget_value(CompareKeys.EDITOR)
    set_widget_value(CompareKeys.SET_NAME, name)
    _tell("success", f"Opened {name} version {panel.test_set.version}.")


def current_test_set(panel: ComparePanel) -> TestSet | None:
    """The test set as edited in the table now."""
    if panel.test_set is None:
        return None
    name = (widget_value(CompareKeys.SET_NAME) or panel.test_set.name).strip() or panel.test_set.name
    table = widget_value(CompareKeys.EDITOR + ".value")
    return edited_test_set(name, table) if table is not None else panel.test_set.model_copy(update={"name": name})


def _save_set(store: Store, panel: ComparePanel) -> None:
    try:
        test_set = current_test_set(panel)
        assert test_set is not None
        panel.test_set = store.evals.save_test_set(test_set, panel.graders)
    except (PlaygroundError, SQLAlchemyError) as error:
        _tell("error", f"Not saved: {getattr(error, 'message', type(error).__name__)}")
        return
    pop_widget_value(CompareKeys.EDITOR)
    _tell("success", f"Saved {panel.test_set.name} version {panel.test_set.version}.")


def new_grader(kind: str, value: str, extra: str) -> Grader:
    """A grader from the form's two fields (what they mean depends on the kind)."""
    text = value.strip()
    try:
        match kind:
            case "regex":
                return RegexGrader(pattern=value)
            case "contains":
                return ContainsGrader(value=text or None)
            case "exact":
                return ExactGrader(value=text or None)
            case "json_schema":
                return JsonSchemaGrader(schema=json.loads(value))
            case "field_equals":
                return FieldEqualsGrader(pointer=text, value=json.loads(extra) if extra.strip() else None)
            case "latency":
                return LatencyGrader(max_s=float(text))
            case "cost":
                return CostGrader(max_usd=float(text))
            case "llm_judge":
                return JudgeGrader(rubric=value, model=extra.strip() or BASELINE_MODEL)
    except ValueError as error:
        raise PlaygroundError.invalid_input(f"{GRADER_KINDS[kind]}: {str(error).splitlines()[0]}") from None
    raise PlaygroundError.invalid_input(f"Unknown grader {kind!r}.")


_GRADER_FIELDS = {
    "regex": ("Pattern", None),
    "contains": ("Text (empty: the row's expected value)", None),
    "exact": ("Text (empty: the row's expected value)", None),
    "json_schema": ("JSON schema", None),
    "field_equals": ("JSON pointer (e.g. /answer)", "Value as JSON (empty: the row's expected)"),
    "latency": ("Seconds", None),
    "cost": ("USD", None),
    "llm_judge": ("Rubric", "Judge model"),
}


def _add_grader(panel: ComparePanel) -> None:
    kind = widget_value(CompareKeys.GRADER_KIND, "regex")
    try:
        grader = new_grader(
            kind, widget_value(CompareKeys.GRADER_VALUE) or "", widget_value(CompareKeys.GRADER_EXTRA) or ""
        )
    except PlaygroundError as error:
        _tell("error", error.message)
        return
    panel.graders = [*panel.graders, grader]
    pop_widget_value(CompareKeys.GRADER_VALUE)
    pop_widget_value(CompareKeys.GRADER_EXTRA)


def _remove_grader(panel: ComparePanel, index: int) -> None:
    panel.graders = [grader for position, grader in enumerate(panel.graders) if position != index]


def graders_form(panel: ComparePanel) -> None:
    st.markdown("**Graders** (a row passes when every grader passes)")
    for index, grader in enumerate(panel.graders):
        with st.container(horizontal=True, vertical_alignment="center"):
            detail = grader.model_dump(exclude={"kind", "name"}, by_alias=True)
            st.caption(f"{GRADER_KINDS[grader.kind]}: {fmt.md_code(json.dumps(detail, ensure_ascii=False))}")
            st.button("Remove", key=CompareKeys.remove_grader(index), on_click=_remove_grader, args=(panel, index))
    kind_column, value_column = st.columns([2, 3])
    kind = kind_column.selectbox(
        "Grader", list(GRADER_KINDS), key=CompareKeys.GRADER_KIND, format_func=GRADER_KINDS.__getitem__
    )
    first, second = _GRADER_FIELDS[kind]
    value_column.text_input(first, key=CompareKeys.GRADER_VALUE)
    if second:
        value_column.text_input(second, key=CompareKeys.GRADER_EXTRA)
    st.button("Add grader", key=CompareKeys.ADD_GRADER, on_click=_add_grader, args=(panel,), icon=":material/add:")


def test_set_editor(store: Store | None, panel: ComparePanel) -> None:
    upload_column, open_column = st.columns(2)
    upload_column.file_uploader(
        "Import a test set (CSV or JSONL: a column per variable, optional id and expected)",
        type=["csv", "jsonl", "ndjson"],
        key=CompareKeys.UPLOAD,
        on_change=_import_upload,
        args=(panel,),
    )
    saved = []
    if store is not None:
        try:
            saved = store.evals.test_sets()
        except (PlaygroundError, SQLAlchemyError):
            saved = []
    if saved and store is not None:
        with open_column:
            st.selectbox(
                "Or open a saved one",
                [info.name for info in saved],
                key=CompareKeys.OPEN_SET,
                format_func=lambda name: next(
                    f"{i.name} (v{i.version}, {i.rows} rows)" for i in saved if i.name == name
                ),
            )
            st.button("Open", key=CompareKeys.OPEN, on_click=_open_saved, args=(store, panel))
    if panel.test_set is None:
        st.caption("Import a file to start; the rows fill the input's `{{name}}` variables.")
        return
    table = st.data_editor(_table(panel.test_set), num_rows="dynamic", key=CompareKeys.EDITOR, hide_index=True)
    set_widget_value(CompareKeys.EDITOR + ".value", table)
    graders_form(panel)
    if store is not None:
        st.text_input(
            "Test set name",
            key=CompareKeys.SET_NAME,
            value=None if widget_value(CompareKeys.SET_NAME) else panel.test_set.name,
        )
        st.button(
            "Save version", key=CompareKeys.SAVE_SET, on_click=_save_set, args=(store, panel), icon=":material/save:"
        )


# --- runs ----------------------------------------------------------------------------------------------
def _saver(store: Store | None) -> Any:
    if store is None:
        return None

    def save(state: RunState) -> None:
        with contextlib.suppress(SQLAlchemyError):  # the run goes on in memory; the next save tries again
            store.evals.save_run(state)

    return save


def launch(workspace: Workspace, store: Store | None, state: RunState) -> RunHandle:
    """Start (or resume) ``state`` on its engine (live requests, or the Batch API), each variant through
    its connection's client; its spend counts in the session's cost. Raises PlaygroundError when this
    session runs the same test set and variants already (started twice, it would spend twice)."""
    completer = completer_for(workspace, state.config.variants)
    session_runs = list(workspace.run_ledger)
    if state.config.engine == "batch":
        handle = batch_runs.launch_batch(workspace, completer.clients, state, _saver(store), session_runs)
    else:
        judge = ClientJudge(workspace.client())
        handle = start_run(state, completer, judge=judge, save=_saver(store), alongside=session_runs)
    workspace.note_run(state)
    return handle


def run_going(run_id: str | None) -> bool:
    """Whether this process is running ``run_id`` now (live requests or batches being polled)."""
    handle = live_run(run_id) if run_id is not None else None
    return handle is not None and handle.alive


def _start_test_run(workspace: Workspace, store: Store | None, panel: ComparePanel) -> None:
    try:
        test_set = current_test_set(panel)
        if test_set is None or not test_set.rows:
            raise PlaygroundError.invalid_input("The test set has no rows.")
        if not panel.graders:
            raise PlaygroundError.invalid_input("Add at least one grader.")
        text = widget_value(CompareKeys.INPUT) or ""
        variants = column_variants(workspace, store, text)
        needed = sorted({name for variant in variants for name in variant.variables()})
        if missing := test_set.missing_variables(needed):
            row, names = next(iter(missing.items()))
            raise PlaygroundError.invalid_input(f"Row {row} has no value for {', '.join(names)}.")
        cap = widget_value(CompareKeys.SPEND_CAP)
        engine = batch_runs.chosen_engine(len(test_set.rows) * len(variants))
        config = RunConfig(
            test_set=test_set,
            variants=variants,
            graders=panel.graders,
            concurrency=int(widget_value(CompareKeys.CONCURRENCY, 4)),
            spend_cap_usd=(cap or None) if engine == "live" else None,
            engine=engine,
        )
        check_spend_cap(config, ClientJudge(workspace.client()).pricing)
        state = RunState(config=config)
        launch(workspace, store, state)
    except PlaygroundError as error:
        _tell("error", error.message, CompareKeys.RUN_OUTCOME)
        return
    panel.run_id = state.id


def run_state(store: Store | None, run_id: str | None) -> tuple[RunState | None, RunHandle | None]:
    """The run's live state (this process runs it) or its saved one."""
    if run_id is None:
        return None, None
    if (handle := live_run(run_id)) is not None:
        return handle.state, handle
    if store is None:
        return None, None
    try:
        return store.evals.get_run(run_id), None
    except (PlaygroundError, SQLAlchemyError):
        return None, None


def _resume(workspace: Workspace, store: Store | None, run_id: str) -> None:
    state, handle = run_state(store, run_id)
    if state is not None and (handle is None or not handle.alive):
        try:
            launch(workspace, store, state)
        except PlaygroundError as error:
            _tell("error", error.message, CompareKeys.RUN_OUTCOME)


def _cancel(store: Store | None, run_id: str) -> None:
    if (handle := live_run(run_id)) is not None:
        handle.cancel.set()


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "ETA …"
    return f"ETA {seconds:.0f} s" if seconds < 120 else f"ETA {seconds / 60:.0f} min"


def progress_view(workspace: Workspace, store: Store | None, run_id: str, key: str) -> None:
    """The run's progress bar, ETA, spend and Cancel while it goes; redrawn each second by itself."""
    state, handle = run_state(store, run_id)
    if state is None:
        return
    if state.config.engine == "batch":
        batch_runs.batch_progress(key, lambda: run_state(store, run_id), lambda: _resume(workspace, store, run_id))
        return
    alive = handle is not None and handle.alive

    @st.fragment(run_every=1.0 if alive else None)
    def live() -> None:
        now_state, now_handle = run_state(store, run_id)
        if now_state is None:
            return
        running = now_handle is not None and now_handle.alive
        if running and not alive:  # resumed by the Resume here: redraw the page so this redraws itself
            st.rerun(scope="app")
        done, total = len(now_state.finished_keys()), now_state.total
        eta = now_handle.progress.eta_s if now_handle is not None and now_handle.progress else None
        text = f"{done}/{total} done · spent {fmt.paid(now_state.paid())}"
        if running:
            st.progress(done / total if total else 1.0, text=f"{text} · {_eta(eta)}")
            st.button("Cancel", key=f"{key}.cancel", on_click=_cancel, args=(store, run_id), icon=":material/cancel:")
        elif alive:  # it finished since the page was drawn: draw the results
            st.rerun(scope="app")
        else:
            st.caption(
                f"{text} · {now_state.status.replace('_', ' ')}"
                + (f": {now_state.stop_reason}" if now_state.stop_reason else "")
            )
            if now_state.status in ("running", "cancelled", "spend_cap", "pending") and done < total:
                st.button(
                    "Resume",
                    key=f"{key}.resume",
                    on_click=_resume,
                    args=(workspace, store, run_id),
                    icon=":material/play_arrow:",
                )

    live()


def _pass_chart(summaries: list[Any]) -> None:
    import plotly.graph_objects as go  # loads when a chart is drawn (the startup benchmark forbids it at page load)

    labels = [summary.label for summary in summaries]
    figure = go.Figure(
        [
            go.Bar(name="Pass rate (%)", x=labels, y=[100 * (s.pass_rate or 0) for s in summaries]),
            go.Bar(name="p50 latency (ms)", x=labels, y=[1000 * (s.p50_latency_s or 0) for s in summaries]),
        ]
    )
    figure.update_layout(barmode="group", height=320, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    st.plotly_chart(figure, width="stretch")


def results_view(state: RunState) -> None:
    """Per-variant pass rate, cost and latency, a chart, the rows failing first, and the exports."""
    if not state.results:
        return
    import pandas as pd

    summaries = summarize(state)
    if state.config.engine == "batch":
        st.caption(batch_runs.BATCH_MARK)
    with st.container(horizontal=True, gap="medium"):
        for summary in summaries:
            st.metric(
                fmt.md_text(summary.label),
                "n/a" if summary.pass_rate is None else f"{summary.pass_rate:.0%}",
                help="Pass rate: rows where every grader passed.",
                border=True,
            )
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Variant": s.label,
                    "Pass rate": "n/a" if s.pass_rate is None else f"{s.pass_rate:.0%}",
                    "Passed": s.passed,
                    "Failed": s.failed,
                    "Errors": s.errors,
                    "Cost": fmt.cost(s.cost_usd, s.cost_is_estimate),
                    "Judge cost": fmt.cost(s.judge_cost_usd),
                    "p50 latency": fmt.seconds(s.p50_latency_s),
                    "p95 latency": fmt.seconds(s.p95_latency_s),
                }
                for s in summaries
            ]
        ),
        hide_index=True,
    )
    _pass_chart(summaries)
    titles = {variant.id: variant.title for variant in state.config.variants}
    graders = list(dict.fromkeys(v.grader for result in state.results for v in result.verdicts))
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Row": result.row_id,
                    "Variant": titles.get(result.variant_id, result.variant_id),
                    "Outcome": result.outcome,
                    **{
                        name: next((f"{v.status}: {v.reason}" for v in result.verdicts if v.grader == name), "")
                        for name in graders
                    },
                    "Output": result.error or result.output,
                    "Cost": fmt.cost(result.cost_usd, result.cost_is_estimate),
                    "Latency": fmt.seconds(result.latency_s),
                }
                for result in failing_first(list(state.results))
            ]
        ),
        hide_index=True,
    )
    left, right = st.columns(2)
    left.download_button("Export CSV", export_csv(state), f"run-{state.id}.csv", "text/csv", key=f"csv.{state.id}")
    right.download_button(
        "Export JSON", export_json(state), f"run-{state.id}.json", "application/json", key=f"json.{state.id}"
    )


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def run_label(info: RunInfo) -> str:
    """An earlier run as the list names it: its test set, engine, size, status and when."""
    engine = "Batch API" if info.engine == "batch" else "live"
    size = f"{_count(info.rows, 'row')} × {_count(info.variants, 'variant')}"
    status = info.status.replace("_", " ")
    return f"{info.test_set_name} · {engine} · {size} · {status} · {info.updated_at:%Y-%m-%d %H:%M}"


def runs_section(workspace: Workspace, store: Store | None, panel: ComparePanel) -> None:
    st.subheader("Run")
    engine = batch_runs.engine_choice(
        workspace, panel.test_set, lambda: column_variants(workspace, store, widget_value(CompareKeys.INPUT) or "")
    )
    concurrency, cap = st.columns(2, vertical_alignment="bottom")
    live_only = engine == "batch"
    concurrency.number_input("Concurrency", 1, 32, 4, key=CompareKeys.CONCURRENCY, disabled=live_only)
    cap.number_input(
        "Spend cap (USD, empty = none)",
        min_value=0.0,
        value=None,
        step=0.1,
        key=CompareKeys.SPEND_CAP,
        disabled=live_only,
    )
    going = run_going(panel.run_id)
    st.button(
        "Run over the test set",
        key=CompareKeys.RUN,
        type="primary",
        on_click=_start_test_run,
        args=(workspace, store, panel),
        disabled=panel.test_set is None or going,
        help="A run is going (below): wait for it to end, or cancel it, before starting another." if going else None,
        icon=":material/play_arrow:",
    )
    _show_outcome(CompareKeys.RUN_OUTCOME)  # by the button: a refusal is seen where Run was clicked
    if store is not None and panel.run_id is None:
        try:
            runs = store.evals.runs(limit=20)
        except (PlaygroundError, SQLAlchemyError):
            runs = []
        if runs:
            chosen = st.selectbox(
                "Earlier runs",
                [None, *(info.id for info in runs)],
                key=CompareKeys.PAST_RUN,
                format_func=lambda i: "…" if i is None else next(run_label(r) for r in runs if r.id == i),
            )
            if chosen:
                panel.run_id = chosen
    if panel.run_id is None:
        return
    progress_view(workspace, store, panel.run_id, "run")
    state, _ = run_state(store, panel.run_id)
    if state is not None:
        results_view(state)


def test_sets_and_runs(workspace: Workspace, store: Store | None, panel: ComparePanel) -> None:
    st.caption(
        "The columns of Side by side are the variants; the Input there is the template each row fills. "
        "Rows are run as live requests (a concurrency limit, a spend cap) or, for big runs, on the provider's "
        "Batch API (50 % off, results within 24 h); a run goes on when you reload."
    )
    test_set_editor(store, panel)
    runs_section(workspace, store, panel)


# --- migration check -----------------------------------------------------------------------------------
def _start_migration(workspace: Workspace, store: Store | None, panel: ComparePanel) -> None:
    name, candidate = widget_value(CompareKeys.MIGRATE_SET), widget_value(CompareKeys.MIGRATE_MODEL)
    try:
        if store is None or not name or not candidate:
            raise PlaygroundError.invalid_input("Pick a saved test set and a model.")
        test_set, graders = store.evals.get_test_set(name)
        if not graders:
            raise PlaygroundError.invalid_input(f"The test set {name!r} has no graders: add some and save it.")
        base = variant_from_setup(
            workspace,
            variant_id="baseline",
            label=BASELINE_MODEL,
            model=BASELINE_MODEL,
            next_message=widget_value(CompareKeys.INPUT) or "",
        )
        config = RunConfig(
            test_set=test_set, variants=[base, base.on_model(candidate, label=candidate)], graders=graders
        )
    except (PlaygroundError, SQLAlchemyError) as error:
        _tell("error", getattr(error, "message", str(error)))
        return
    state = RunState(config=config)
    try:
        launch(workspace, store, state)
    except PlaygroundError as error:
        _tell("error", error.message)
        return
    panel.migration_run_id = state.id


def migration_check(workspace: Workspace, store: Store | None, panel: ComparePanel) -> None:
    st.caption(
        f"{BASELINE_MODEL} retires: run a saved test set with the current setup on {BASELINE_MODEL} and on "
        "another model, and see where the verdicts differ, what it costs and how fast it is."
    )
    if store is None:
        return
    try:
        saved = [info.name for info in store.evals.test_sets()]
    except (PlaygroundError, SQLAlchemyError):
        saved = []
    if not saved:
        st.info("Save a test set (with graders) first, on the Test sets & runs tab.")
        return
    left, middle = st.columns(2, vertical_alignment="bottom")
    left.selectbox("Test set", saved, key=CompareKeys.MIGRATE_SET)
    others = [model for model in _model_options(workspace) if model != BASELINE_MODEL]
    middle.selectbox("Candidate model", others, key=CompareKeys.MIGRATE_MODEL, accept_new_options=True)
    st.button(
        "Check on both models",
        key=CompareKeys.MIGRATE,
        type="primary",
        on_click=_start_migration,
        args=(workspace, store, panel),
    )
    if panel.migration_run_id is None:
        return
    progress_view(workspace, store, panel.migration_run_id, "migration")
    state, handle = run_state(store, panel.migration_run_id)
    if state is None or not state.results or (handle is not None and handle.alive):
        return
    baseline, candidate = (variant.id for variant in state.config.variants)
    report = migration_report(state, baseline, candidate)
    st.success(fmt.md_text(report.summary), icon=":material/summarize:")
    if report.changes:
        import pandas as pd

        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Row": c.row_id,
                        BASELINE_MODEL: c.before,
                        report.candidate.label: c.after,
                        f"{BASELINE_MODEL} output": c.before_output,
                        f"{report.candidate.label} output": c.after_output,
                    }
                    for c in report.changes
                ]
            ),
            hide_index=True,
        )
    else:
        st.caption("Every row has the same verdict on both models.")
    results_view(state)


def compare_panel() -> None:
    """The whole panel."""
    workspace = get_workspace()
    panel = compare_state()
    st.title("Compare & evaluate")
    st.caption("Send one input to 2-4 variants side by side, then run them over a test set with graders.")
    _show_outcome()
    store = library_store_db()
    side, tests, migrate = st.tabs(["Side by side", "Test sets & runs", "Check on another model"], key=CompareKeys.TABS)
    with side:
        side_by_side(workspace, store, panel)
    with tests:
        test_sets_and_runs(workspace, store, panel)
    with migrate:
        migration_check(workspace, store, panel)
