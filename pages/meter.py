"""Cost & context panel: prices and tiers, the current context, every turn's usage, projections."""

import streamlit as st

from components import meter as meter_view
from components.state import get_workspace

workspace = get_workspace()
st.title("Cost & context")
st.caption("What the next request carries against the window, what every reply cost, and what it would cost at scale.")
meter_view.price_controls(workspace)
breakdown = workspace.breakdown()
rows = workspace.usage_rows()
meter_view.current_context(workspace, breakdown)
meter_view.turns_section(workspace, rows)
meter_view.estimate_summary(rows)
meter_view.projection_section(workspace, rows, breakdown)
