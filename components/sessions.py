"""The sidebar's "Sessions" list: new, open, rename, duplicate and delete saved sessions.

Actions run in callbacks (before the page draws), each saving the current work first; opening a
session switches the URL (``?session=<id>``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import streamlit as st

from components import persistence
from components.format import md_text
from components.state import get_store, widget_value
from playground.errors import PlaygroundError
from playground.store.sessions import SessionSummary

LIST_LIMIT = 50
LABEL_TITLE_LENGTH = 32  # the sidebar's select box shows about this much


class SessionKeys:
    PANEL = persistence.SESSIONS_PANEL_KEY  # the expander: whether it is open
    NEW = "sessions.new"
    OPEN = "sessions.open"
    TITLE = "sessions.title"
    DUPLICATE = "sessions.duplicate"
    DELETE = "sessions.delete"
    CONFIRM_DELETE = "sessions.confirm_delete"


def session_label(summary: SessionSummary, now: datetime | None = None) -> str:
    """One short line for a session: its title (cut), when it last changed, how many messages."""
    now = now or datetime.now().astimezone()
    changed = summary.updated_at.astimezone(now.tzinfo)
    when = changed.strftime("%H:%M") if changed.date() == now.date() else changed.strftime("%d %b %Y")
    title = summary.title or "Untitled"
    if len(title) > LABEL_TITLE_LENGTH:
        title = title[: LABEL_TITLE_LENGTH - 1].rstrip() + "…"
    return f"{title} · {when} · {summary.message_count} msg"


def _current_id() -> str | None:
    autosave = get_store().autosave
    return autosave.session_id if autosave is not None and autosave.persisted else None


def _act(action: str, run: Callable[[], object]) -> None:
    """Run a list action; a database failure is said at the top of the page, nothing is lost."""
    try:
        persistence.save_now()
        run()
    except PlaygroundError as error:
        persistence.notify(f"Could not {action}: {md_text(error)}")


def _new() -> None:
    _act("start a new session", persistence.new_session)


def _open() -> None:
    chosen = widget_value(SessionKeys.OPEN)
    if chosen and chosen != _current_id():
        _act("open that session", lambda: persistence.open_session(chosen))


def _rename() -> None:
    session_id = _current_id()
    if session_id is not None:
        title = str(widget_value(SessionKeys.TITLE, "")).strip()

        def rename() -> None:
            persistence.sessions().rename(session_id, title)
            autosave = get_store().autosave
            assert autosave is not None
            autosave.forget_saved()  # the next save reads the new title, not the one it remembers

        _act("rename the session", rename)


def _duplicate() -> None:
    session_id = _current_id()
    if session_id is not None:

        def duplicate() -> None:
            persistence.open_session(persistence.sessions().duplicate(session_id))
            persistence.notify("This is a copy: the original is unchanged in the Sessions list.")

        _act("duplicate the session", duplicate)


def _delete() -> None:
    session_id = _current_id()
    if session_id is not None:

        def delete() -> None:
            persistence.sessions().delete(session_id)
            persistence.new_session()
            persistence.notify("The session was deleted, with its images. This is a new session.")

        _act("delete the session", delete)


def sessions_panel() -> None:
    """The "Sessions" expander (in the sidebar). Its content (a database query and a dozen widgets)
    is drawn only while it is open: a rerun with it closed pays nothing for it."""
    panel = st.expander("Sessions", key=SessionKeys.PANEL, on_change="rerun")
    if widget_value(SessionKeys.PANEL):
        with panel:
            _sessions_list()


def _sessions_list() -> None:
    st.button("New session", key=SessionKeys.NEW, icon=":material/add:", on_click=_new, width="stretch")
    try:
        summaries = persistence.sessions().list_all(limit=LIST_LIMIT)
    except PlaygroundError as error:
        st.caption(f"The saved sessions cannot be listed: {error}")
        return
    current = _current_id()
    if not summaries:
        st.caption("Nothing saved yet: a session is saved as soon as there is something in it.")
        return
    labels = {summary.id: session_label(summary) for summary in summaries}
    ids = list(labels)
    st.selectbox(
        "Open a saved session",
        ids,
        index=ids.index(current) if current in labels else None,
        format_func=labels.__getitem__,
        placeholder="Choose a session",
        key=SessionKeys.OPEN,
        on_change=_open,
    )
    if current is None:
        st.caption("This session is saved as soon as there is something in it.")
        return
    title = next((summary.title for summary in summaries if summary.id == current), "")
    st.text_input(
        "Name of this session",
        value=title,
        key=SessionKeys.TITLE,
        on_change=_rename,
        placeholder="Untitled",
        max_chars=200,
    )
    with st.container(horizontal=True, gap="small"):
        # No icons: with them the two do not fit side by side in the sidebar.
        st.button("Duplicate", key=SessionKeys.DUPLICATE, on_click=_duplicate)
        with st.popover("Delete"):
            st.write("Delete this session, its messages and the images nothing else uses? This cannot be undone.")
            st.button("Delete for good", key=SessionKeys.CONFIRM_DELETE, type="primary", on_click=_delete)
