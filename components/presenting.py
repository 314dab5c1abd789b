"""Whether this browser session presents: the sidebar's toggle, its URL form ``?present=1``, and a
share-link viewer (``?share=<token>``, always presenting, read-only).

Read on every page (app.py, the sidebar), so it loads nothing of the demo player: the parameter
names are the demo core's (a unit test says so), and the URL's value is parsed by the core only
when the URL carries one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from components.state import set_widget_value, widget_value

if TYPE_CHECKING:
    from streamlit.navigation.page import StreamlitPage

DEMO_PAGE = "pages/demo.py"
DEMO_URL_PATH = "demo"
PRESENT_KEY = "demo.present"  # the sidebar toggle
PRESENT_PARAM = "present"  # = playground.demo.presentation.PRESENT_QUERY_PARAM
SHARE_PARAM = "share"  # = playground.demo.links.SHARE_QUERY_PARAM


def share_token() -> str | None:
    """The share link's token this page was opened with (None: the owner's own session)."""
    token = st.query_params.get(SHARE_PARAM)
    return token or None


def viewing_share_link() -> bool:
    return share_token() is not None


def presenting() -> bool:
    """Whether the presentation view is on: the toggle, else (before it is first drawn) the URL."""
    if viewing_share_link():
        return True
    value = widget_value(PRESENT_KEY)
    if value is None:
        value = False
        if PRESENT_PARAM in st.query_params:
            from playground.demo.presentation import presentation_requested

            value = presentation_requested(st.query_params.to_dict())
        set_widget_value(PRESENT_KEY, value)
    return bool(value)


def _sync_url() -> None:
    """Keep ``?present=1`` in the address bar while presenting (a reload or a copied URL presents too)."""
    if widget_value(PRESENT_KEY):
        st.query_params[PRESENT_PARAM] = "1"
    else:
        st.query_params.pop(PRESENT_PARAM, None)


def presentation_sidebar() -> bool:
    """Draw the presentation toggle at the top of the sidebar (a viewer gets nothing there).

    Returns True while presenting: the rest of the sidebar (connection, keys, meter) stays hidden."""
    if viewing_share_link():
        return True
    presenting()  # the URL's setting seeds the toggle on first draw
    with st.sidebar:
        st.toggle(
            "Presentation view",
            key=PRESENT_KEY,
            on_change=_sync_url,
            help="The Demo page for an audience: large type, no settings, keys, buttons or figures. "
            "The same as adding ?present=1 to the address.",
        )
    return presenting()


def stay_on_demo_page(current: StreamlitPage) -> None:
    """While presenting, only the Demo page shows: any other page the URL names goes there, its
    query (``present``, ``share``) kept."""
    if presenting() and current.url_path != DEMO_URL_PATH:
        st.switch_page(DEMO_PAGE, query_params=st.query_params.to_dict())
