"""Schema builder panel: build a structured-output schema, check it against strict mode, run it and
validate every reply. The schema is shared with the chat ("Use in chat")."""

import streamlit as st

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

workspace = get_workspace()
panel = panel_state()
panel.settle()
sync_editors(workspace, panel)

schema_header(workspace, panel)
builder_column, json_column = st.columns(2, gap="large")
with builder_column:
    field_builder(workspace, panel)
with json_column:
    strict_linter(workspace, panel)
    schema_tabs(workspace, panel)
st.divider()
run_panel(workspace, panel)
