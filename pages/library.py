"""Prompt library panel: save the setup as versioned prompts, compare and restore them; session files."""

import streamlit as st

from components.library import library_panel
from components.state import get_workspace

st.title("Prompt library")
st.caption(
    "Save the current setup as a named prompt (every save is a version), compare versions, restore or fork "
    "one, and move sessions and prompts in and out as files."
)
library_panel(get_workspace())
