"""Cost & context panel: prices and tiers, the current context, every turn's usage, projections."""

import streamlit as st

from components import meter as meter_view
from components.state import get_workspace
from playground.meter import prompt_breakdown, usage_rows

workspace = get_workspace()
st.title("Cost & context")
meter_view.price_controls(workspace)
breakdown = prompt_breakdown(workspace)
rows = usage_rows(workspace)
meter_view.current_context(workspace, breakdown)
meter_view.turns_section(workspace, rows)
meter_view.estimate_summary(rows)
meter_view.projection_section(workspace, rows, breakdown)
