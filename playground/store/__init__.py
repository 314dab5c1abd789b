"""Keeping the work: sessions, the prompt library and session files in a real database.

Open it once per process with :func:`open_store` (creates or upgrades the schema, applies the
retention setting); ``store.sessions``, ``store.prompts`` and ``store.evals`` (test sets, runs) do the rest.
The app saves through an :class:`Autosave` per browser session (``playground.store.autosave``): it
keeps that session's :class:`SaveCache`, so the process-wide store holds no user text.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from playground.errors import PlaygroundError
from playground.store.autosave import Autosave
from playground.store.database import (
    DATABASE_URL_VARIABLE,
    SQLITE_BUSY_TIMEOUT_S,
    database_url,
    head_revision,
    open_engine,
    safe_url,
    unavailable,
)
from playground.store.document import SessionDocument, apply_session_document, session_document_from_workspace
from playground.store.evals import EvalRepository, RunInfo, TestSetInfo
from playground.store.files import (
    ImportResult,
    export_prompt,
    export_session,
    format_json_schema,
    import_file,
    parse_file,
)
from playground.store.models import DEFAULT_OWNER
from playground.store.prompts import PromptDiff, PromptLibrary, PromptSummary, PromptVersion, VersionInfo
from playground.store.sessions import (
    SaveCache,
    SaveResult,
    SessionConflict,
    SessionRepository,
    SessionSummary,
    retention_days,
)


@dataclass
class Store:
    """One database, seen as one owner's sessions and prompts."""

    engine: Engine
    sessions: SessionRepository
    prompts: PromptLibrary
    evals: EvalRepository

    def close(self) -> None:
        self.engine.dispose()


def open_store(
    url: str | None = None,
    owner: str = DEFAULT_OWNER,
    *,
    retention: int | None = None,
    busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_S,
) -> Store:
    """The store at ``url`` (default ``PLAYGROUND_DATABASE_URL``, else ``data/playground.db``), its
    schema created or upgraded; sessions older than ``retention`` days (default
    ``PLAYGROUND_RETENTION_DAYS``, unset = keep all) are purged. ``busy_timeout_s``: how long a
    SQLite write waits for another writer. Raises PlaygroundError when the database cannot be
    opened or was written by a newer playground."""
    engine = open_engine(url or database_url(), busy_timeout_s)
    store = Store(engine, SessionRepository(engine, owner), PromptLibrary(engine, owner), EvalRepository(engine, owner))
    try:
        days = retention if retention is not None else retention_days()
        if days:
            store.sessions.purge_older_than(days)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise unavailable(engine, exc) from None
    except PlaygroundError:
        engine.dispose()
        raise
    return store


__all__ = [
    "DATABASE_URL_VARIABLE",
    "DEFAULT_OWNER",
    "Autosave",
    "EvalRepository",
    "ImportResult",
    "PromptDiff",
    "PromptLibrary",
    "PromptSummary",
    "PromptVersion",
    "RunInfo",
    "SaveCache",
    "SaveResult",
    "SessionConflict",
    "SessionDocument",
    "SessionRepository",
    "SessionSummary",
    "Store",
    "TestSetInfo",
    "VersionInfo",
    "apply_session_document",
    "database_url",
    "export_prompt",
    "export_session",
    "format_json_schema",
    "head_revision",
    "import_file",
    "open_store",
    "parse_file",
    "safe_url",
    "session_document_from_workspace",
]
