"""Schema builder panel: build a structured-output schema, check it against strict mode, run it and
validate every reply. The schema is shared with the chat ("Use in chat")."""

import streamlit as st

from components.contain import contained
from components.schema_builder import (
    field_builder,
    panel_state,
    run_panel,
    schema_header,
    schema_tabs,
    strict_linter,
    sync_editors,
)
from components.state import get_workspace

FIX_IN_JSON = "Fix the schema in the JSON tab, or load a template."

st.title("Schema builder")
st.caption(
    "Design a JSON Schema for structured outputs, check it against strict mode, and test it: "
    "every reply is validated field by field."
)
workspace = get_workspace()
panel = panel_state()
panel.settle()
sync_editors(workspace, panel)

with contained("the schema header", FIX_IN_JSON):
    schema_header(workspace, panel)
builder_column, json_column = st.columns(2, gap="large")
with builder_column, contained("the field builder", FIX_IN_JSON):
    field_builder(workspace, panel)
with json_column:
    with contained("the strict-mode check", FIX_IN_JSON):
        strict_linter(workspace, panel)
    with contained("the JSON, import and export tabs", "Reload the page if this part stays broken."):
        schema_tabs(workspace, panel)
st.divider()
with contained("the test run", "Run again, or fix the schema in the JSON tab."):
    run_panel(workspace, panel)
