"""Entry point: page config, the session store, the sidebar, and navigation between the panels."""

import streamlit as st

from components.persistence import attach_session, autosave
from components.presenting import DEMO_PAGE, presenting, stay_on_demo_page
from components.sidebar import render_sidebar

st.set_page_config(
    page_title="GPT-4.1-mini playground",
    page_icon="🧪",  # an emoji: a material icon would be fetched from a font CDN (the CSP blocks it)
    layout="wide",
    # Presenting: out of the audience's sight. Else collapsed on narrow screens, where it would cover the chat.
    initial_sidebar_state="collapsed" if presenting() else "auto",
)

PAGES = [
    st.Page("pages/chat.py", title="Chat", icon=":material/chat:", default=True),
    st.Page("pages/images.py", title="Images", icon=":material/image:"),
    st.Page("pages/tools.py", title="Functions", icon=":material/function:"),
    st.Page("pages/schema.py", title="Schema builder", icon=":material/data_object:"),
    st.Page("pages/meter.py", title="Cost & context", icon=":material/monitoring:"),
    st.Page("pages/library.py", title="Prompt library", icon=":material/bookmarks:"),
    st.Page("pages/compare.py", title="Compare & evaluate", icon=":material/compare:"),
    st.Page(DEMO_PAGE, title="Demo", icon=":material/slideshow:"),
]

attach_session()
navigation = st.navigation(PAGES, position="hidden" if presenting() else "sidebar")
stay_on_demo_page(navigation)
render_sidebar()
navigation.run()
autosave()
