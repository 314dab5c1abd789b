"""The variables form: one field per ``{{name}}`` the system prompt or the user's messages use.

Drawn only when the prompt uses variables. The workspace holds the values (they are saved with the
session); the request is rendered from them when it is built, so View code shows the filled-in text.
"""

from __future__ import annotations

import streamlit as st

from components.format import md_code
from components.state import set_widget_value, widget_value
from playground.errors import PlaygroundError
from playground.workspace import Workspace

VARIABLE_PREFIX = "vars.value."


def variable_key(name: str) -> str:
    return f"{VARIABLE_PREFIX}{name}"


def _store_variable(workspace: Workspace, name: str) -> None:
    workspace.set_variable(name, widget_value(variable_key(name), ""))


def variables_form(workspace: Workspace) -> None:
    """A field per variable (nothing when the prompt has none); a template error is a warning."""
    try:
        names = workspace.prompt_variables()
    except PlaygroundError as error:
        st.warning(f"{error.message} Fix the system prompt or message.", icon=":material/data_object:")
        return
    if not names:
        return
    missing = [name for name in names if not workspace.variables.get(name)]
    label = "Variables" + (f" · {len(missing)} to fill in" if missing else "")
    with st.expander(label, expanded=bool(missing), icon=":material/data_object:"):
        st.caption("Each `{{name}}` in the system prompt or your messages is replaced by its value when sent.")
        columns = st.columns(2)
        for index, name in enumerate(names):
            key = variable_key(name)
            value = workspace.variables.get(name, "")
            if widget_value(key) != value:
                set_widget_value(key, value)  # the workspace is the truth (a session was opened, ...)
            columns[index % 2].text_input(
                md_code(name),
                key=key,
                on_change=_store_variable,
                args=(workspace, name),
                placeholder="Required before sending",
            )
