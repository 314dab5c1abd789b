"""Saved sessions: create, autosave (only what changed), load, list, rename, duplicate, delete, purge.

A session is one ``sessions`` row (everything but the messages, plus the message order) and one
``messages`` row per message, each with the digest of its body: an autosave serialises the
workspace, compares digests with what it last wrote and writes only the rows that differ. Image
bytes live once per digest in ``blobs``; ``blob_refs`` says who uses them, and a blob nobody uses is
deleted with the last reference.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from playground.connection import ConnectionSettings
from playground.errors import ErrorKind, PlaygroundError
from playground.store.document import (
    ImageBytes,
    ImageCache,
    SessionDocument,
    apply_session_document,
    header_record,
    inline_image_bytes,
    message_fingerprint,
    message_record,
    with_image_data,
)
from playground.store.models import DEFAULT_OWNER, BlobRefRow, BlobRow, MessageRow, SessionRow, utc_now
from playground.workspace import Workspace

RETENTION_VARIABLE = "PLAYGROUND_RETENTION_DAYS"
PENDING_PART = "pending"


def new_session_id() -> str:
    """An unguessable id, fit for a URL (``?session=<id>``) and a command line (it never starts
    with "-", which would read as an option)."""
    while (session_id := secrets.token_urlsafe(16)).startswith("-"):
        pass
    return session_id


def _pairs(rows: Iterable[Any]) -> dict[Any, Any]:
    return {key: value for key, value in rows}


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def retention_days(env: Mapping[str, str] | None = None) -> int | None:
    """``PLAYGROUND_RETENTION_DAYS`` as a number of days; None (keep everything) when unset or 0."""
    raw = (os.environ if env is None else env).get(RETENTION_VARIABLE, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise PlaygroundError(
            ErrorKind.CONFIGURATION, f"{RETENTION_VARIABLE} must be a whole number of days (it is {raw!r})."
        )
    return int(raw) or None


class SessionConflict(PlaygroundError):
    """Another writer (a second tab on the same session) saved the session since this one did."""


@dataclass(frozen=True)
class SessionSummary:
    id: str
    title: str
    message_count: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class SaveResult:
    """What an autosave wrote: message rows written and deleted, and whether the session row was."""

    messages_written: int = 0
    messages_deleted: int = 0
    session_written: bool = False

    @property
    def wrote_anything(self) -> bool:
        return bool(self.messages_written or self.messages_deleted or self.session_written)


@dataclass
class _Saved:
    """What the database holds for one session, as last read or written by this repository."""

    title: str
    header_hash: str
    order: list[str]
    message_hashes: dict[str, str] = field(default_factory=dict)
    # Per message id, the fingerprint of the message as last written (see message_fingerprint).
    fingerprints: dict[str, tuple[Any, ...]] = field(default_factory=dict)


@dataclass
class SaveCache:
    """What one writer last read or wrote of its session, kept by that writer (a browser session),
    not by the process: it holds the messages' texts (by reference) and image digests, which must
    not outlive the browser session nor sit in memory every session shares."""

    saved: _Saved | None = None
    images: ImageCache = field(default_factory=ImageCache)


@dataclass
class _Row:
    id: str
    body: str
    body_hash: str
    blobs: list[ImageBytes]


def _on_conflict_do_nothing(connection: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows``, skipping those whose key exists (two sessions may store one image at once)."""
    if not rows:
        return
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(postgresql.insert(table).on_conflict_do_nothing(), rows)
    elif dialect == "sqlite":
        connection.execute(sqlite.insert(table).on_conflict_do_nothing(), rows)
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise PlaygroundError(ErrorKind.CONFIGURATION, f"Unsupported database: {dialect}.")


def store_blobs(connection: Connection, blobs: Iterable[tuple[str, str, bytes]]) -> None:
    """Store image bytes (digest, media type, data) once per digest."""
    unique = {sha: (media_type, data) for sha, media_type, data in blobs}
    now = utc_now()
    rows = [
        {"sha256": sha, "media_type": media_type, "size": len(data), "data": data, "created_at": now}
        for sha, (media_type, data) in unique.items()
    ]
    _on_conflict_do_nothing(connection, BlobRow.__table__, rows)


def add_refs(connection: Connection, holder: str, part: str, shas: Iterable[str]) -> None:
    rows = [{"holder": holder, "part": part, "sha256": sha} for sha in set(shas)]
    _on_conflict_do_nothing(connection, BlobRefRow.__table__, rows)


def delete_unreferenced_blobs(connection: Connection) -> int:
    unused = ~exists().where(BlobRefRow.sha256 == BlobRow.sha256)
    return connection.execute(delete(BlobRow).where(unused)).rowcount


def read_blobs(connection: Connection, shas: Iterable[str]) -> dict[str, tuple[str, bytes]]:
    wanted = sorted(set(shas))
    if not wanted:
        return {}
    rows = connection.execute(
        select(BlobRow.sha256, BlobRow.media_type, BlobRow.data).where(BlobRow.sha256.in_(wanted))
    )
    return {sha: (media_type, bytes(data)) for sha, media_type, data in rows}


def existing_blobs(connection: Connection, shas: Iterable[str]) -> set[str]:
    wanted = sorted(set(shas))
    if not wanted:
        return set()
    return set(connection.scalars(select(BlobRow.sha256).where(BlobRow.sha256.in_(wanted))))


def document_blobs(
    connection: Connection, document: SessionDocument
) -> tuple[SessionDocument, list[tuple[str, str, bytes]]]:
    """Split ``document``'s images into bytes to store and a body that names them by digest.

    Images with neither a URL, nor bytes inline, nor bytes already stored are left out (an export
    without images, opened in another database)."""
    blobs: list[tuple[str, str, bytes]] = []
    by_reference = []
    for image in document.images():
        data = inline_image_bytes(image)
        if data is not None:
            sha = hashlib.sha256(data).hexdigest()
            blobs.append((sha, image.media_type or "application/octet-stream", data))
        elif image.sha256 and not image.url:
            by_reference.append(image.sha256)
    available = existing_blobs(connection, by_reference) | {sha for sha, _, _ in blobs}

    def kept(images: list[Any]) -> list[Any]:
        result = []
        for image in images:
            if image.url:
                result.append(image.model_copy(update={"data": None, "sha256": None}))
                continue
            data = inline_image_bytes(image)
            sha = hashlib.sha256(data).hexdigest() if data is not None else image.sha256
            if sha in available:
                result.append(image.model_copy(update={"data": None, "sha256": sha}))
        return result

    messages = [message.model_copy(update={"images": kept(message.images)}) for message in document.messages]
    body = document.model_copy(update={"messages": messages, "pending_images": kept(document.pending_images)})
    return body, blobs


class SessionRepository:
    """The sessions of one ``owner`` in one database.

    Keep one repository per process (it remembers what it last wrote, so an autosave compares in
    memory) and call :meth:`save` after every change; it writes nothing when nothing changed.
    """

    def __init__(self, engine: Engine, owner: str = DEFAULT_OWNER) -> None:
        self.engine = engine
        self.owner = owner
        self._saved: dict[str, _Saved] = {}
        self._revisions: dict[str, int] = {}
        self._images = ImageCache()
        # One repository serves every browser session of the process (Streamlit runs them on threads).
        self._lock = threading.RLock()

    # --- create, save, load -------------------------------------------------------------------
    def create(self, workspace: Workspace | None = None, title: str = "") -> str:
        """A new saved session holding ``workspace`` (an empty one by default); returns its id."""
        session_id = new_session_id()
        self.save(session_id, workspace or Workspace(), title=title)
        return session_id

    def open_or_create(self, session_id: str | None, base: ConnectionSettings | None = None) -> tuple[str, Workspace]:
        """The session a URL names (``?session=<id>``), or a new empty one when it names none, or one
        that is gone or not this owner's. Returns (its id, its Workspace on ``base``'s connection)."""
        if session_id:
            try:
                return session_id, self.load(session_id, base)
            except PlaygroundError as exc:
                if exc.kind is not ErrorKind.NOT_FOUND:
                    raise
        workspace = Workspace(connection=base or ConnectionSettings())
        return self.create(workspace), workspace

    def save(
        self,
        session_id: str,
        workspace: Workspace,
        title: str | None = None,
        *,
        revision: int | None = None,
        cache: SaveCache | None = None,
    ) -> SaveResult:
        """Write what changed in ``workspace`` since the last save (creating the session if new).

        ``title`` None keeps the saved title. A save with nothing changed touches no database.
        ``revision``: the :meth:`revision` the caller last saw; when another writer of this process
        (a second tab) wrote the session since, SessionConflict is raised and nothing is written.
        Without it, the last save wins, whole. ``cache``: the caller's own record of what it last
        read or wrote of this session (default: the repository's, for one-writer use such as the CLI).
        """
        with self._lock:
            return self._save(session_id, workspace, title, revision, cache)

    def revision(self, session_id: str) -> int:
        """How many saves of this process wrote the session (a save that writes nothing counts not)."""
        return self._revisions.get(session_id, 0)

    def _save(
        self, session_id: str, workspace: Workspace, title: str | None, revision: int | None, cache: SaveCache | None
    ) -> SaveResult:
        saved = self._saved.get(session_id) if cache is None else cache.saved
        images = self._images if cache is None else cache.images
        if saved is None:
            with self.engine.connect() as connection:
                saved = self._read_saved(connection, session_id)
        title = title if title is not None else (saved.title if saved is not None else "")
        header, header_blobs = header_record(workspace, title, images)
        header_body = to_json(header)
        header_hash = digest(header_body)
        rows, fingerprints = [], {}
        for message in workspace.conversation.messages:
            fingerprints[message.id] = fingerprint = message_fingerprint(message)
            if saved is not None and saved.fingerprints.get(message.id) == fingerprint:
                continue  # as last written: no need to serialise it
            record, blobs = message_record(message, images)
            body = to_json(record)
            rows.append(_Row(message.id, body, digest(body), blobs))
        order = list(fingerprints)
        is_new = saved is None
        state = saved or _Saved(title=title, header_hash="", order=[])
        changed = [row for row in rows if state.message_hashes.get(row.id) != row.body_hash]
        removed = set(state.message_hashes) - set(order)
        header_changed = header_hash != state.header_hash
        session_written = header_changed or order != state.order
        if changed or removed or session_written:
            if revision is not None and revision != self.revision(session_id):
                raise SessionConflict(
                    ErrorKind.INVALID_INPUT,
                    "This session was changed in another tab since this one last saved it: the change made "
                    "here is not saved (it would undo the other tab's). Reopen the session to see the latest, "
                    "or keep this tab's work as a new session.",
                )
            values: dict[str, Any] = {"updated_at": utc_now()}
            if session_written:
                values |= {
                    "title": title,
                    "body": header_body,
                    "body_hash": header_hash,
                    "message_order": to_json(order),
                    "message_count": len(order),
                }
            with self.engine.begin() as connection:
                if is_new:
                    self._insert_session(connection, session_id, title)
                touched = connection.execute(
                    update(SessionRow)
                    .where(SessionRow.id == session_id, SessionRow.owner == self.owner)
                    .values(**values)
                ).rowcount
                if not touched:
                    self._forget(session_id, cache)
                    raise PlaygroundError(
                        ErrorKind.NOT_FOUND,
                        "This session was deleted meanwhile (in another tab, or by the retention setting): "
                        "nothing was saved. Export or copy what you need, then start a new session.",
                    )
                self._write_messages(connection, session_id, changed, state.message_hashes)
                refs_dropped = self._delete_messages(connection, session_id, removed)
                if header_changed:
                    refs_dropped |= self._replace_refs(connection, session_id, PENDING_PART, header_blobs)
                if refs_dropped:
                    delete_unreferenced_blobs(connection)
            self._revisions[session_id] = self.revision(session_id) + 1
        state.title, state.header_hash, state.order, state.fingerprints = title, header_hash, order, fingerprints
        for row in changed:
            state.message_hashes[row.id] = row.body_hash
        for message_id in removed:
            del state.message_hashes[message_id]
        self._remember(session_id, state, cache)
        return SaveResult(len(changed), len(removed), session_written)

    def load(
        self, session_id: str, base: ConnectionSettings | None = None, *, cache: SaveCache | None = None
    ) -> Workspace:
        """The saved session as a Workspace (see ``apply_session_document`` for ``base``); what was
        read is remembered in ``cache`` (see :meth:`save`)."""
        return apply_session_document(self.load_document(session_id, cache=cache), base)

    def load_document(self, session_id: str, *, images: bool = True, cache: SaveCache | None = None) -> SessionDocument:
        """The saved session as a document; ``images=False`` leaves the image bytes out."""
        with self.engine.connect() as connection:
            session = self._session_row(connection, session_id)
            bodies = _pairs(
                connection.execute(
                    select(MessageRow.id, MessageRow.body).where(
                        MessageRow.session_id == session_id, MessageRow.owner == self.owner
                    )
                )
            )
            order = json.loads(session.message_order)
            messages = [json.loads(bodies[message_id]) for message_id in order if message_id in bodies]
            document = SessionDocument.model_validate({**json.loads(session.body), "messages": messages})
            if images:
                shas = [image.sha256 for image in document.images() if image.sha256]
                document = with_image_data(document, read_blobs(connection, shas))
        with self._lock:
            saved = _Saved(
                document.title,
                session.body_hash,
                order,
                {message_id: digest(body) for message_id, body in bodies.items()},
            )
            self._remember(session_id, saved, cache)
        return document

    def _remember(self, session_id: str, saved: _Saved, cache: SaveCache | None) -> None:
        if cache is None:
            self._saved[session_id] = saved
        else:
            cache.saved = saved

    def _forget(self, session_id: str, cache: SaveCache | None) -> None:
        self._saved.pop(session_id, None)
        if cache is not None:
            cache.saved = None

    def create_from_document(self, document: SessionDocument, title: str | None = None) -> str:
        """A new session holding ``document`` (an import, a restored prompt); returns its id.

        Images come from the document's inline bytes or, by digest, from this database."""
        session_id = new_session_id()
        with self.engine.begin() as connection:
            body, blobs = document_blobs(connection, document)
            store_blobs(connection, blobs)
            self._write_document(connection, session_id, body, document.title if title is None else title)
        return session_id

    # --- the sessions list --------------------------------------------------------------------
    def list_all(self, limit: int | None = None) -> list[SessionSummary]:
        """This owner's sessions, most recently changed first (the ``limit`` latest, if given)."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(
                    SessionRow.id,
                    SessionRow.title,
                    SessionRow.message_count,
                    SessionRow.created_at,
                    SessionRow.updated_at,
                )
                .where(SessionRow.owner == self.owner)
                .order_by(SessionRow.updated_at.desc(), SessionRow.id)
                .limit(limit)
            )
            return [SessionSummary(*row) for row in rows]

    def exists(self, session_id: str) -> bool:
        with self.engine.connect() as connection:
            found = connection.scalar(
                select(func.count()).where(SessionRow.id == session_id, SessionRow.owner == self.owner)
            )
            return bool(found)

    def rename(self, session_id: str, title: str) -> None:
        with self.engine.begin() as connection:
            session = self._session_row(connection, session_id)
            header = json.loads(session.body)
            header["title"] = title
            body = to_json(header)
            connection.execute(
                update(SessionRow)
                .where(SessionRow.id == session_id)
                .values(title=title, body=body, body_hash=digest(body), updated_at=utc_now())
            )
        self._saved.pop(session_id, None)

    def duplicate(self, session_id: str, title: str | None = None) -> str:
        """A copy of the session under a new id (images shared, not copied); returns the new id."""
        document = self.load_document(session_id, images=False)
        new_id = new_session_id()
        with self.engine.begin() as connection:
            self._write_document(
                connection, new_id, document, title if title is not None else f"{document.title} (copy)"
            )
        return new_id

    def delete(self, session_id: str) -> None:
        """Delete the session, its messages and every image nothing else uses."""
        with self.engine.begin() as connection:
            self._session_row(connection, session_id)
            self._delete_sessions(connection, [session_id])
        self._saved.pop(session_id, None)

    def purge_older_than(self, days: int, now: datetime | None = None) -> int:
        """Delete sessions unchanged for more than ``days`` days; returns how many."""
        cutoff = (now or utc_now()) - timedelta(days=days)
        with self.engine.begin() as connection:
            old = list(
                connection.scalars(
                    select(SessionRow.id).where(SessionRow.owner == self.owner, SessionRow.updated_at < cutoff)
                )
            )
            self._delete_sessions(connection, old)
        for session_id in old:
            self._saved.pop(session_id, None)
        return len(old)

    # --- internals ----------------------------------------------------------------------------
    def _session_row(self, connection: Connection, session_id: str) -> Any:
        row = connection.execute(
            select(SessionRow.body, SessionRow.body_hash, SessionRow.message_order).where(
                SessionRow.id == session_id, SessionRow.owner == self.owner
            )
        ).first()
        if row is None:
            raise PlaygroundError(
                ErrorKind.NOT_FOUND, f"There is no saved session {session_id!r} (it may have been deleted)."
            )
        return row

    def _read_saved(self, connection: Connection, session_id: str) -> _Saved | None:
        row = connection.execute(
            select(SessionRow.title, SessionRow.body_hash, SessionRow.message_order, SessionRow.owner).where(
                SessionRow.id == session_id
            )
        ).first()
        if row is None:
            return None
        if row.owner != self.owner:
            raise PlaygroundError(ErrorKind.PERMISSION, "This session belongs to someone else.")
        hashes = _pairs(
            connection.execute(select(MessageRow.id, MessageRow.body_hash).where(MessageRow.session_id == session_id))
        )
        return _Saved(row.title, row.body_hash, json.loads(row.message_order), hashes)

    def _insert_session(self, connection: Connection, session_id: str, title: str) -> None:
        """The new session's row; its body and message order are written by the save that made it."""
        now = utc_now()
        connection.execute(
            insert(SessionRow).values(
                id=session_id,
                owner=self.owner,
                title=title,
                body="{}",
                body_hash="",
                message_order="[]",
                message_count=0,
                created_at=now,
                updated_at=now,
            )
        )

    def _write_messages(
        self, connection: Connection, session_id: str, rows: list[_Row], saved_hashes: dict[str, str]
    ) -> None:
        new = [row for row in rows if row.id not in saved_hashes]
        changed = [row for row in rows if row.id in saved_hashes]
        if new:
            connection.execute(
                insert(MessageRow),
                [
                    {
                        "session_id": session_id,
                        "id": row.id,
                        "owner": self.owner,
                        "body": row.body,
                        "body_hash": row.body_hash,
                    }
                    for row in new
                ],
            )
        for row in changed:
            connection.execute(
                update(MessageRow)
                .where(MessageRow.session_id == session_id, MessageRow.id == row.id)
                .values(body=row.body, body_hash=row.body_hash)
            )
        for row in rows:
            if row.blobs or row.id in saved_hashes:
                self._replace_refs(connection, session_id, row.id, row.blobs)

    def _replace_refs(self, connection: Connection, holder: str, part: str, blobs: list[ImageBytes]) -> bool:
        """Point ``holder``/``part`` at exactly ``blobs``; True when a reference was dropped."""
        dropped = connection.execute(
            delete(BlobRefRow).where(BlobRefRow.holder == holder, BlobRefRow.part == part)
        ).rowcount
        store_blobs(connection, ((blob.sha256, blob.media_type, blob.data) for blob in blobs))
        add_refs(connection, holder, part, (blob.sha256 for blob in blobs))
        return dropped > 0

    def _delete_messages(self, connection: Connection, session_id: str, message_ids: set[str]) -> bool:
        if not message_ids:
            return False
        ids = sorted(message_ids)
        connection.execute(delete(MessageRow).where(MessageRow.session_id == session_id, MessageRow.id.in_(ids)))
        dropped = connection.execute(
            delete(BlobRefRow).where(BlobRefRow.holder == session_id, BlobRefRow.part.in_(ids))
        ).rowcount
        return dropped > 0

    def _delete_sessions(self, connection: Connection, session_ids: list[str]) -> None:
        if not session_ids:
            return
        connection.execute(delete(MessageRow).where(MessageRow.session_id.in_(session_ids)))
        connection.execute(delete(BlobRefRow).where(BlobRefRow.holder.in_(session_ids)))
        connection.execute(delete(SessionRow).where(SessionRow.id.in_(session_ids)))
        delete_unreferenced_blobs(connection)

    def _write_document(self, connection: Connection, session_id: str, document: SessionDocument, title: str) -> None:
        """Insert a whole session from ``document`` whose images are by digest (bytes already stored)."""
        header = {**document.header(), "title": title}
        header_body = to_json(header)
        bodies = [to_json(message.model_dump(mode="json", exclude_none=False)) for message in document.messages]
        order = [message.id for message in document.messages]
        if len(set(order)) != len(order):
            raise PlaygroundError.invalid_input("Two messages of this session have the same id.")
        now = utc_now()
        connection.execute(
            insert(SessionRow).values(
                id=session_id,
                owner=self.owner,
                title=title,
                body=header_body,
                body_hash=digest(header_body),
                message_order=to_json(order),
                message_count=len(order),
                created_at=now,
                updated_at=now,
            )
        )
        if bodies:
            connection.execute(
                insert(MessageRow),
                [
                    {
                        "session_id": session_id,
                        "id": message.id,
                        "owner": self.owner,
                        "body": body,
                        "body_hash": digest(body),
                    }
                    for message, body in zip(document.messages, bodies, strict=True)
                ],
            )
        for message in document.messages:
            add_refs(connection, session_id, message.id, (image.sha256 for image in message.images if image.sha256))
        add_refs(
            connection, session_id, PENDING_PART, (image.sha256 for image in document.pending_images if image.sha256)
        )
