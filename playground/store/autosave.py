"""Autosave: one browser session's link to its saved session, and when (and whether) to write it.

An :class:`Autosave` knows the session's id, whether its row exists yet (a first visit creates it
only once there is something to keep), and how the last save went. A save that fails (the database
is down, locked, or deleted the session meanwhile) is remembered, never raised: the work stays in
memory and the save is tried again after ``RETRY_AFTER_S``. Pure Python, no UI.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from playground.errors import ErrorKind, PlaygroundError
from playground.store.database import unavailable
from playground.store.document import ImageCache, header_record
from playground.store.sessions import (
    SaveCache,
    SessionConflict,
    SessionRepository,
    digest,
    new_session_id,
    to_json,
)
from playground.workspace import Workspace

#: How long after a failed save the next one is tried (a locked or unreachable database costs
#: its timeout on every attempt, so not on every rerun).
RETRY_AFTER_S = 10.0
#: During a streaming reply, a save at most this often (a process that dies mid-reply loses at most
#: this much of it).
STREAM_SAVE_INTERVAL_S = 1.0


TITLE_LENGTH = 60


def first_message_title(workspace: Workspace) -> str:
    """A new session's title: its first user message, on one line, cut to ``TITLE_LENGTH``."""
    text = next((" ".join(m.content.split()) for m in workspace.conversation.messages if m.role == "user"), "")
    return text if len(text) <= TITLE_LENGTH else text[: TITLE_LENGTH - 1].rstrip() + "…"


def _header_digest(workspace: Workspace) -> str:
    header, _ = header_record(workspace, "", ImageCache())
    return digest(to_json(header))


@dataclass
class Autosave:
    """The saved session one browser session works on.

    ``persisted``: its row exists (loaded, or written once). ``error``: why the last save or open
    failed (None when it went well); ``stopped``: the session was deleted elsewhere, or another tab
    saved it since, so saving stopped. ``revision``: the repository's revision of the session this
    browser session last loaded or wrote.
    """

    session_id: str = field(default_factory=new_session_id)
    persisted: bool = False
    error: PlaygroundError | None = None
    stopped: bool = False
    revision: int = 0
    retry_at: float = 0.0
    last_save_at: float = 0.0
    # The header of an untouched session on this connection: until the workspace differs from it
    # (or has messages), a first visit writes nothing.
    pristine_header: str = ""
    # A session the URL named that could not be opened (the database was down): opened instead
    # once the database answers, if nothing was done here meanwhile.
    pending_open: str | None = None
    # What this browser session last read or wrote (kept here, not in the process's repository).
    cache: SaveCache = field(default_factory=SaveCache, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    @classmethod
    def fresh(cls, workspace: Workspace) -> Autosave:
        """A new, not yet written session for the untouched ``workspace``."""
        return cls(pristine_header=_header_digest(workspace))

    @classmethod
    def opened(cls, session_id: str, revision: int, cache: SaveCache) -> Autosave:
        """The session ``session_id``, just loaded from the database at ``revision`` (``cache``:
        what the load read)."""
        return cls(session_id=session_id, persisted=True, revision=revision, cache=cache)

    def forget_saved(self) -> None:
        """Read the session's row again before the next save (it was changed outside a save: renamed)."""
        self.cache.saved = None

    def has_content(self, workspace: Workspace) -> bool:
        """Is there anything to keep? (Anything changed from an untouched session.)"""
        if self.persisted or workspace.conversation.messages or workspace.pending_images:
            return True
        return _header_digest(workspace) != self.pristine_header

    def failed(self, error: PlaygroundError) -> None:
        """Remember ``error`` (opening the database failed); the next save waits ``RETRY_AFTER_S``."""
        self.error = error
        self.retry_at = self.clock() + RETRY_AFTER_S

    def due(self) -> bool:
        """May a save be tried now? (Not while waiting to retry a failure, not once saving stopped.)"""
        return not self.stopped and (self.error is None or self.clock() >= self.retry_at)

    def save(self, sessions: Callable[[], SessionRepository], workspace: Workspace) -> bool:
        """Write what changed (creating the row once there is content) to the repository
        ``sessions()`` returns (it may raise PlaygroundError: the database cannot be opened).

        Never raises: a failure is kept in ``error``. Returns True when this save created the row.
        """
        if not self.due() or not self.has_content(workspace):
            return False
        created = not self.persisted
        try:
            repository = sessions()
            title = first_message_title(workspace) if created else None
            repository.save(self.session_id, workspace, title, revision=self.revision, cache=self.cache)
        except SQLAlchemyError as exc:
            self.failed(unavailable(repository.engine, exc))
            return False
        except PlaygroundError as error:
            self.failed(error)
            self.stopped = isinstance(error, SessionConflict) or error.kind is ErrorKind.NOT_FOUND
            return False
        self.revision = repository.revision(self.session_id)
        self.persisted, self.error, self.last_save_at = True, None, self.clock()
        return created

    def save_while_streaming(self, sessions: Callable[[], SessionRepository], workspace: Workspace) -> bool:
        """:meth:`save`, at most every ``STREAM_SAVE_INTERVAL_S`` (called on every streamed update)."""
        if self.clock() - self.last_save_at < STREAM_SAVE_INTERVAL_S:
            return False
        self.last_save_at = self.clock()  # also when the save fails: no retry on every update
        return self.save(sessions, workspace)

    def start_over(self, workspace: Workspace) -> None:
        """Keep the work under a new id (the saved session was deleted elsewhere)."""
        self.session_id, self.persisted, self.stopped, self.error = new_session_id(), False, False, None
        self.revision, self.cache = 0, SaveCache()
        self.pristine_header = _header_digest(Workspace(connection=workspace.connection))
