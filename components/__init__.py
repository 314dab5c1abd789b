"""Reusable Streamlit pieces. ``components.state`` is the one session store."""
