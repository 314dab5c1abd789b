"""Keeping the work across reloads and restarts: the URL names the saved session, every run saves it.

- :func:`attach_session` (top of app.py): on a browser session's first run, reopen the session
  ``?session=<id>`` names from the database (or start a new one), and say when it cannot be.
- :func:`autosave` (last line of app.py): write what changed; a streaming reply is saved about
  once a second too (a hook on the Workspace), so a process that dies mid-reply loses little.

The process keeps one :class:`~playground.store.Store` (``st.cache_resource``: an engine and the
repositories' write caches, no credentials, no user text kept beyond the digests of what was
written). When the database is down, locked or newer than this code, the page says that work is not
being saved, everything goes on in memory, and saving is retried on later runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from components.format import md_code, md_text
from components.state import SessionStore, get_store, pop_widget_value, server_defaults, set_widget_value, start_session
from playground.errors import ErrorKind, PlaygroundError
from playground.store import Store, database_url, open_store
from playground.store import autosave as autosave_timing
from playground.store.autosave import Autosave
from playground.store.sessions import SaveCache, SessionRepository
from playground.workspace import Workspace

LOGGER = logging.getLogger("playground.persistence")
SESSION_PARAM = "session"
#: A SQLite write waits this long for another writer before the save is reported as failed
#: (the page waits with it; the store's own default suits the command line).
BUSY_TIMEOUT_S = 2.0
NOTICE_KEY = "persistence.notice"
STATUS_KEY = "persistence.status"
KEEP_KEY = "persistence.keep"
#: The sidebar's Sessions expander: it stays open across the session switches made from it.
SESSIONS_PANEL_KEY = "sessions.panel"
REOPEN_KEY = "persistence.reopen"


class _Database:
    """The process's store for one URL, opened on first use. A failure to open is kept and retried
    no sooner than ``RETRY_AFTER_S`` later (each attempt may cost a timeout)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._store: Store | None = None
        self._error: PlaygroundError | None = None
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> Store:
        with self._lock:
            if self._store is not None:
                return self._store
            if self._error is not None and time.monotonic() < self._retry_at:
                raise self._error
            try:
                self._store = open_store(self.url, busy_timeout_s=BUSY_TIMEOUT_S)
            except PlaygroundError as error:
                self._error, self._retry_at = error, time.monotonic() + autosave_timing.RETRY_AFTER_S
                raise
            self._error = None
            return self._store


@st.cache_resource(show_spinner=False)
def _database(url: str) -> _Database:
    return _Database(url)


def database() -> Store:
    """The process's store (opened, schema upgraded, retention applied on first use); raises
    PlaygroundError when the database cannot be opened."""
    return _database(database_url()).get()


def sessions() -> SessionRepository:
    return database().sessions


# --- the URL ------------------------------------------------------------------------------------
def _sync_url(autosave: Autosave) -> None:
    """Once the session is saved, the URL names it (page switches drop query parameters)."""
    if autosave.persisted and st.query_params.get(SESSION_PARAM) != autosave.session_id:
        st.query_params[SESSION_PARAM] = autosave.session_id


def _forget_url() -> None:
    st.query_params.pop(SESSION_PARAM, None)


def notify(text: str) -> None:
    """Say ``text`` once, at the top of the next page drawn."""
    set_widget_value(NOTICE_KEY, text)


# --- opening and starting sessions --------------------------------------------------------------
def new_session() -> SessionStore:
    """Start a new, empty session (saved once there is something in it)."""
    workspace = Workspace(connection=server_defaults())
    _forget_url()
    return _attached(start_session(workspace, Autosave.fresh(workspace), (SESSIONS_PANEL_KEY,)))


def open_session(session_id: str) -> SessionStore:
    """Make the saved session ``session_id`` this browser session's; when it cannot be (unknown,
    deleted, or the database is down) a new session is started and the reason said."""
    cache = SaveCache()
    try:
        repository = sessions()
        workspace = repository.load(session_id, server_defaults(), cache=cache)
    except PlaygroundError as error:
        store = new_session()
        assert store.autosave is not None
        if error.kind is ErrorKind.NOT_FOUND:
            notify(
                f"There is no saved session {md_code(session_id)}: it was deleted, or the link is wrong. "
                "This is a new session; the sidebar's Sessions list has the saved ones."
            )
        else:
            store.autosave.failed(error)
            store.autosave.pending_open = session_id
            st.query_params[SESSION_PARAM] = session_id  # kept: it opens once the database answers
        return store
    store = start_session(
        workspace, Autosave.opened(session_id, repository.revision(session_id), cache), (SESSIONS_PANEL_KEY,)
    )
    if st.query_params.get(SESSION_PARAM) != session_id:
        st.query_params[SESSION_PARAM] = session_id
    return _attached(store)


def _first_visit() -> SessionStore:
    """A new session, on a database opened now: the schema is created or upgraded and the retention
    setting applied when the app starts, and a database that cannot be used is said at once."""
    store = new_session()
    assert store.autosave is not None
    try:
        database()
    except PlaygroundError as error:
        store.autosave.failed(error)
    return store


def _attached(store: SessionStore) -> SessionStore:
    autosave = store.autosave
    assert autosave is not None
    store.workspace.set_progress_hook(_stream_saver(store.workspace, autosave))
    return store


def _stream_saver(workspace: Workspace, autosave: Autosave) -> Callable[[], None]:
    def save() -> None:
        try:
            if autosave.save_while_streaming(sessions, workspace):
                _sync_url(autosave)
        except Exception as error:  # a saving bug must not end the reply being streamed
            LOGGER.exception("Saving a streaming reply failed")
            autosave.failed(PlaygroundError(ErrorKind.CONFIGURATION, f"Saving failed ({type(error).__name__})."))

    return save


def attach_session() -> None:
    """Start of every run: this browser session's saved session, reopened or started, and what the
    page must say about it (a session that could not be opened, work not being saved)."""
    store = get_store()
    requested = st.query_params.get(SESSION_PARAM)
    autosave = store.autosave
    if autosave is None:  # this browser session's first run (a first visit, a reload, a restart)
        store = open_session(requested) if requested else _first_visit()
    elif autosave.pending_open and autosave.due():
        if autosave.has_content(store.workspace):
            autosave.pending_open = None  # work was done meanwhile: it is saved as a new session
        else:
            store = open_session(autosave.pending_open)
    elif requested and requested not in (autosave.session_id, autosave.pending_open):
        save_now(store)
        store = open_session(requested)
    if notice := pop_widget_value(NOTICE_KEY):
        st.info(notice, icon=":material/history:")
    assert store.autosave is not None
    status = st.empty()  # the end of the run says it here when its save fails
    set_widget_value(STATUS_KEY, (status, _status(status, store.autosave)))


def _status(slot: DeltaGenerator, autosave: Autosave) -> bool:
    """Say, in ``slot``, that work is not being saved (and why); False when there is nothing to say."""
    if autosave.error is None:
        return False
    with slot.container():
        _status_lines(autosave)
    return True


def _sentence(error: PlaygroundError | None) -> str:
    """The error's text as a sentence, literal (a database path or URL may hold Markdown signs)."""
    text = str(error).strip()
    return md_text(text if text.endswith((".", "!", "?")) else f"{text}.")


def _status_lines(autosave: Autosave) -> None:
    if autosave.stopped:
        st.warning(
            f"{_sentence(autosave.error)} Your work is still on this page.",
            icon=":material/cloud_off:",
        )
        with st.container(horizontal=True, gap="small"):
            st.button("Keep this work as a new session", key=KEEP_KEY, on_click=_keep_as_new)
            if autosave.error is not None and autosave.error.kind is not ErrorKind.NOT_FOUND:
                st.button("Reopen the saved session", key=REOPEN_KEY, on_click=_reopen)
    elif autosave.error is not None:
        st.warning(
            f"**Work is not being saved.** {_sentence(autosave.error)} Everything stays on this page (a reload "
            f"would lose it); saving is tried again every {autosave_timing.RETRY_AFTER_S:g} s.",
            icon=":material/cloud_off:",
        )


def _keep_as_new() -> None:
    store = get_store()
    assert store.autosave is not None
    store.autosave.start_over(store.workspace)
    _forget_url()
    save_now(store)


def _reopen() -> None:
    store = get_store()
    assert store.autosave is not None
    open_session(store.autosave.session_id)


def save_now(store: SessionStore | None = None) -> None:
    """Write what changed in this browser session's workspace (see :func:`autosave`)."""
    store = store or get_store()
    if store.autosave is not None and store.autosave.save(sessions, store.workspace):
        _sync_url(store.autosave)


def autosave() -> None:
    """End of every run: write what changed (nothing when nothing did), the URL naming the session.

    The spend of the session's runs is settled first, so the saved session keeps what they cost."""
    store = get_store()
    store.workspace.settle_runs()
    save_now(store)
    if store.autosave is None:
        return
    _sync_url(store.autosave)
    drawn = pop_widget_value(STATUS_KEY)
    if drawn is None:
        return
    slot, said = drawn
    if said and store.autosave.error is None:
        slot.empty()  # saved again: the warning drawn at the top of this run no longer holds
    elif not said:
        _status(slot, store.autosave)  # it failed in this run: say so now, not a run later
