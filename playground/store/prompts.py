"""The prompt library: named prompts, each save an immutable numbered version with a note.

Versions are numbered per prompt under a unique (prompt_id, version) constraint: two writers that
pick the same number at once collide in the database, and the loser retries with the next number,
so no save is ever lost. Tags and labels (``production`` -> one version) sit beside the versions.
"""

from __future__ import annotations

import difflib
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError, OperationalError

from playground.errors import ErrorKind, PlaygroundError
from playground.store.document import SessionDocument, with_image_data
from playground.store.models import (
    DEFAULT_OWNER,
    BlobRefRow,
    PromptLabelRow,
    PromptRow,
    PromptTagRow,
    PromptVersionRow,
    utc_now,
)
from playground.store.sessions import (
    add_refs,
    delete_unreferenced_blobs,
    document_blobs,
    read_blobs,
    store_blobs,
    to_json,
)

SAVE_ATTEMPTS = 20
SETUP_PART = "setup"


def version_holder(version_id: int) -> str:
    return f"prompt-version:{version_id}"


@dataclass(frozen=True)
class VersionInfo:
    name: str
    version: int
    note: str
    created_at: datetime
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class PromptVersion:
    info: VersionInfo
    setup: SessionDocument


@dataclass(frozen=True)
class PromptSummary:
    name: str
    latest_version: int
    updated_at: datetime
    tags: tuple[str, ...] = ()
    labels: dict[str, int] = field(default_factory=dict)
    forked_from: str | None = None


@dataclass(frozen=True)
class Change:
    """One structured difference: ``path`` like ``params.temperature`` or ``tools[0].function.name``."""

    path: str
    old: Any
    new: Any


@dataclass(frozen=True)
class PromptDiff:
    name: str
    old_version: int
    new_version: int
    system_prompt: str  # a unified text diff ("" when equal)
    messages: str  # a unified text diff of the messages rendered as text
    changes: list[Change]  # parameters, tools, mocks, schema, model

    @property
    def is_empty(self) -> bool:
        return not (self.system_prompt or self.messages or self.changes)

    def as_text(self) -> str:
        """The whole diff as text (what ``python -m playground prompts diff`` prints)."""
        parts = [f"{self.name}: version {self.old_version} -> {self.new_version}"]
        if self.is_empty:
            return parts[0] + "\n(no differences)\n"
        if self.system_prompt:
            parts += ["", "System prompt:", self.system_prompt.rstrip("\n")]
        if self.messages:
            parts += ["", "Messages:", self.messages.rstrip("\n")]
        if self.changes:
            parts += ["", "Settings:"]
            parts += [
                f"  {change.path}: {json.dumps(change.old)} -> {json.dumps(change.new)}" for change in self.changes
            ]
        return "\n".join(parts) + "\n"


def text_diff(old: str, new: str, old_name: str, new_name: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=old_name, tofile=new_name
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def render_messages(setup: SessionDocument) -> str:
    """The conversation as plain text, one block per message (what the messages diff compares)."""
    blocks = []
    for message in setup.messages:
        lines = [f"[{message.role}{' ' + message.name if message.name else ''}]"]
        if message.tool_call_id:
            lines.append(f"(output of {message.tool_call_id})")
        lines.extend(message.content.splitlines() or [""])
        lines += [
            f"<image {image.name} sha256:{(image.sha256 or '')[:12]}{image.url or ''}>" for image in message.images
        ]
        lines += [f"<tool call {call.name}({call.arguments})>" for call in message.tool_calls]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def structured_changes(old: Any, new: Any, path: str = "") -> list[Change]:
    """Every leaf where ``old`` and ``new`` (JSON values) differ, dict keys sorted."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes = []
        for key in sorted(set(old) | set(new), key=str):
            child = f"{path}.{key}" if path else str(key)
            changes += structured_changes(old.get(key), new.get(key), child)
        return changes
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            change
            for index, pair in enumerate(zip(old, new, strict=True))
            for change in structured_changes(*pair, f"{path}[{index}]")
        ]
    return [] if old == new else [Change(path, old, new)]


def _settings(setup: SessionDocument) -> dict[str, Any]:
    return {
        "model": setup.connection.model,
        "deployment": setup.connection.deployment,
        "params": setup.params.model_dump(mode="json"),
        "tools": setup.tools,
        "tool_choice": setup.tool_choice,
        "parallel_tool_calls": setup.parallel_tool_calls,
        "tool_loop": setup.tool_loop.model_dump(mode="json", exclude={"timeline", "comparison"}),
        "response_schema": setup.response_schema.model_dump(mode="json"),
    }


def diff_setups(name: str, old: PromptVersion, new: PromptVersion) -> PromptDiff:
    old_label, new_label = f"{name}@{old.info.version}", f"{name}@{new.info.version}"
    return PromptDiff(
        name=name,
        old_version=old.info.version,
        new_version=new.info.version,
        system_prompt=text_diff(old.setup.system_prompt, new.setup.system_prompt, old_label, new_label),
        messages=text_diff(render_messages(old.setup), render_messages(new.setup), old_label, new_label),
        changes=structured_changes(_settings(old.setup), _settings(new.setup)),
    )


def _search_text(setup: SessionDocument) -> str:
    return (setup.system_prompt + "\n" + "\n".join(message.content for message in setup.messages)).lower()


def _is_retryable(exc: Exception) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    return isinstance(exc, OperationalError) and "locked" in str(exc).lower()


class PromptLibrary:
    """The prompts of one ``owner``."""

    def __init__(self, engine: Engine, owner: str = DEFAULT_OWNER) -> None:
        self.engine = engine
        self.owner = owner

    # --- saving -------------------------------------------------------------------------------
    def save(self, name: str, document: SessionDocument, note: str = "") -> VersionInfo:
        """Save ``document``'s setup (see ``SessionDocument.as_setup``) as the next version of ``name``
        (created if new). Concurrent saves of one prompt each get their own version number."""
        name = name.strip()
        if not name:
            raise PlaygroundError.invalid_input("Give the prompt a name.")
        return self._save(name, document.as_setup(), note, forked_from=None)

    def fork(self, name: str, version: int, new_name: str, note: str = "") -> VersionInfo:
        """A new prompt ``new_name`` whose version 1 is ``name`` at ``version``."""
        source = self.get(name, version)
        if self._prompt_id(new_name.strip()) is not None:
            raise PlaygroundError.invalid_input(f"A prompt named {new_name!r} exists already; pick another name.")
        with self.engine.connect() as connection:
            source_id = self._version_id(connection, name, version)
        return self._save(new_name.strip(), source.setup, note or f"Forked from {name} version {version}", source_id)

    def _save(self, name: str, setup: SessionDocument, note: str, forked_from: int | None) -> VersionInfo:
        last_error: Exception | None = None
        for attempt in range(SAVE_ATTEMPTS):
            try:
                with self.engine.begin() as connection:
                    return self._insert_version(connection, name, setup, note, forked_from)
            except (IntegrityError, OperationalError) as exc:
                if not _is_retryable(exc):
                    raise
                last_error = exc
                time.sleep(0.005 * (attempt + 1))  # another writer took this number: take the next
        raise PlaygroundError(
            ErrorKind.SERVER, f"Could not save {name!r}: the database stayed busy ({last_error.__class__.__name__})."
        )

    def _insert_version(
        self, connection: Connection, name: str, setup: SessionDocument, note: str, forked_from: int | None
    ) -> VersionInfo:
        now = utc_now()
        prompt_id = connection.scalar(select(PromptRow.id).where(PromptRow.owner == self.owner, PromptRow.name == name))
        if prompt_id is None:
            prompt_id = connection.execute(
                insert(PromptRow)
                .values(owner=self.owner, name=name, forked_from_version_id=forked_from, created_at=now)
                .returning(PromptRow.id)
            ).scalar_one()
        latest = connection.scalar(
            select(func.max(PromptVersionRow.version)).where(PromptVersionRow.prompt_id == prompt_id)
        )
        number = (latest or 0) + 1
        body, blobs = document_blobs(connection, setup)
        store_blobs(connection, blobs)
        version_id = connection.execute(
            insert(PromptVersionRow)
            .values(
                prompt_id=prompt_id,
                owner=self.owner,
                version=number,
                note=note,
                body=to_json(body.model_dump(mode="json")),
                search_text=_search_text(setup),
                created_at=now,
            )
            .returning(PromptVersionRow.id)
        ).scalar_one()
        add_refs(
            connection,
            version_holder(version_id),
            SETUP_PART,
            (image.sha256 for image in body.images() if image.sha256),
        )
        return VersionInfo(name, number, note, now)

    # --- reading ------------------------------------------------------------------------------
    def list_all(self) -> list[PromptSummary]:
        """Every prompt, most recently saved first."""
        return self._summaries(None)

    def search(self, query: str) -> list[PromptSummary]:
        """Prompts whose name contains ``query``, with a tag equal to it, or whose system prompt or
        messages (any version) contain it; case-insensitive."""
        needle = query.strip().lower()
        if not needle:
            return self.list_all()
        like = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        matching = or_(
            func.lower(PromptRow.name).like(like, escape="\\"),
            PromptRow.id.in_(select(PromptTagRow.prompt_id).where(PromptTagRow.tag == needle)),
            PromptRow.id.in_(
                select(PromptVersionRow.prompt_id).where(PromptVersionRow.search_text.like(like, escape="\\"))
            ),
        )
        return self._summaries(matching)

    def _summaries(self, condition: Any) -> list[PromptSummary]:
        with self.engine.connect() as connection:
            latest = (
                select(
                    PromptVersionRow.prompt_id,
                    func.max(PromptVersionRow.version).label("version"),
                    func.max(PromptVersionRow.created_at).label("updated_at"),
                )
                .group_by(PromptVersionRow.prompt_id)
                .subquery()
            )
            query = (
                select(
                    PromptRow.id,
                    PromptRow.name,
                    latest.c.version,
                    latest.c.updated_at,
                    PromptRow.forked_from_version_id,
                )
                .join(latest, latest.c.prompt_id == PromptRow.id)
                .where(PromptRow.owner == self.owner)
            )
            if condition is not None:
                query = query.where(condition)
            rows = connection.execute(query.order_by(latest.c.updated_at.desc(), PromptRow.name)).all()
            ids = [row.id for row in rows]
            tags: dict[int, list[str]] = {}
            for prompt_id, tag in connection.execute(
                select(PromptTagRow.prompt_id, PromptTagRow.tag)
                .where(PromptTagRow.prompt_id.in_(ids))
                .order_by(PromptTagRow.tag)
            ):
                tags.setdefault(prompt_id, []).append(tag)
            labels: dict[int, dict[str, int]] = {}
            for prompt_id, label, version in connection.execute(
                select(PromptLabelRow.prompt_id, PromptLabelRow.label, PromptVersionRow.version)
                .join(PromptVersionRow, PromptVersionRow.id == PromptLabelRow.version_id)
                .where(PromptLabelRow.prompt_id.in_(ids))
            ):
                labels.setdefault(prompt_id, {})[label] = version
            sources = self._version_names(
                connection, [row.forked_from_version_id for row in rows if row.forked_from_version_id]
            )
        return [
            PromptSummary(
                name=row.name,
                latest_version=row.version,
                updated_at=row.updated_at,
                tags=tuple(tags.get(row.id, [])),
                labels=labels.get(row.id, {}),
                forked_from=sources.get(row.forked_from_version_id) if row.forked_from_version_id else None,
            )
            for row in rows
        ]

    def _version_names(self, connection: Connection, version_ids: list[int]) -> dict[int, str]:
        if not version_ids:
            return {}
        rows = connection.execute(
            select(PromptVersionRow.id, PromptRow.name, PromptVersionRow.version)
            .join(PromptRow, PromptRow.id == PromptVersionRow.prompt_id)
            .where(PromptVersionRow.id.in_(version_ids))
        )
        return {version_id: f"{name}@{version}" for version_id, name, version in rows}

    def versions(self, name: str) -> list[VersionInfo]:
        """Every version of ``name``, oldest first."""
        prompt_id = self._require(name)
        with self.engine.connect() as connection:
            labels = self._labels_by_version(connection, prompt_id)
            rows = connection.execute(
                select(
                    PromptVersionRow.id, PromptVersionRow.version, PromptVersionRow.note, PromptVersionRow.created_at
                )
                .where(PromptVersionRow.prompt_id == prompt_id)
                .order_by(PromptVersionRow.version)
            )
            return [
                VersionInfo(name, row.version, row.note, row.created_at, tuple(labels.get(row.id, []))) for row in rows
            ]

    def get(self, name: str, version: int | None = None, *, label: str | None = None) -> PromptVersion:
        """One version of ``name``: ``version``, else the one ``label`` points at, else the latest."""
        prompt_id = self._require(name)
        with self.engine.connect() as connection:
            query = select(PromptVersionRow).where(PromptVersionRow.prompt_id == prompt_id)
            if version is not None:
                query = query.where(PromptVersionRow.version == version)
            elif label is not None:
                query = query.join(PromptLabelRow, PromptLabelRow.version_id == PromptVersionRow.id).where(
                    PromptLabelRow.label == label
                )
            else:
                query = query.order_by(PromptVersionRow.version.desc()).limit(1)
            row = connection.execute(query).first()
            if row is None:
                which = f"version {version}" if version is not None else f"a version labelled {label!r}"
                raise PlaygroundError(ErrorKind.NOT_FOUND, f"The prompt {name!r} has no {which}.")
            setup = SessionDocument.model_validate_json(row.body)
            shas = [image.sha256 for image in setup.images() if image.sha256]
            setup = with_image_data(setup, read_blobs(connection, shas))
            labels = tuple(self._labels_by_version(connection, prompt_id).get(row.id, []))
        return PromptVersion(VersionInfo(name, row.version, row.note, row.created_at, labels), setup)

    def diff(self, name: str, old_version: int, new_version: int) -> PromptDiff:
        return diff_setups(name, self.get(name, old_version), self.get(name, new_version))

    def restore(self, name: str, version: int | None = None, *, label: str | None = None) -> SessionDocument:
        """The version's setup as a session document (open it with ``apply_session_document`` or
        ``SessionRepository.create_from_document``)."""
        prompt = self.get(name, version, label=label)
        return prompt.setup.model_copy(update={"title": f"{name} v{prompt.info.version}"})

    # --- tags, labels, delete -----------------------------------------------------------------
    def tag(self, name: str, *tags: str) -> None:
        prompt_id = self._require(name)
        clean = {tag.strip().lower() for tag in tags if tag.strip()}
        with self.engine.begin() as connection:
            present = set(connection.scalars(select(PromptTagRow.tag).where(PromptTagRow.prompt_id == prompt_id)))
            rows = [{"prompt_id": prompt_id, "tag": tag, "owner": self.owner} for tag in sorted(clean - present)]
            if rows:
                connection.execute(insert(PromptTagRow), rows)

    def untag(self, name: str, tag: str) -> None:
        prompt_id = self._require(name)
        with self.engine.begin() as connection:
            connection.execute(
                delete(PromptTagRow).where(PromptTagRow.prompt_id == prompt_id, PromptTagRow.tag == tag.strip().lower())
            )

    def set_label(self, name: str, label: str, version: int) -> None:
        """Point ``label`` (e.g. ``production``) at ``version`` of ``name``, moving it if set elsewhere."""
        label = label.strip()
        if not label:
            raise PlaygroundError.invalid_input("Give the label a name (for example production).")
        prompt_id = self._require(name)
        with self.engine.begin() as connection:
            version_id = self._version_id(connection, name, version)
            connection.execute(
                delete(PromptLabelRow).where(PromptLabelRow.prompt_id == prompt_id, PromptLabelRow.label == label)
            )
            connection.execute(
                insert(PromptLabelRow).values(prompt_id=prompt_id, label=label, version_id=version_id, owner=self.owner)
            )

    def remove_label(self, name: str, label: str) -> None:
        prompt_id = self._require(name)
        with self.engine.begin() as connection:
            connection.execute(
                delete(PromptLabelRow).where(PromptLabelRow.prompt_id == prompt_id, PromptLabelRow.label == label)
            )

    def delete(self, name: str) -> None:
        """Delete the prompt, all its versions and the images only they used."""
        prompt_id = self._require(name)
        with self.engine.begin() as connection:
            version_ids = list(
                connection.scalars(select(PromptVersionRow.id).where(PromptVersionRow.prompt_id == prompt_id))
            )
            connection.execute(delete(PromptLabelRow).where(PromptLabelRow.prompt_id == prompt_id))
            connection.execute(delete(PromptTagRow).where(PromptTagRow.prompt_id == prompt_id))
            connection.execute(
                delete(BlobRefRow).where(BlobRefRow.holder.in_([version_holder(vid) for vid in version_ids]))
            )
            connection.execute(delete(PromptVersionRow).where(PromptVersionRow.prompt_id == prompt_id))
            connection.execute(delete(PromptRow).where(PromptRow.id == prompt_id))
            delete_unreferenced_blobs(connection)

    # --- internals ----------------------------------------------------------------------------
    def _prompt_id(self, name: str) -> int | None:
        with self.engine.connect() as connection:
            return connection.scalar(select(PromptRow.id).where(PromptRow.owner == self.owner, PromptRow.name == name))

    def _require(self, name: str) -> int:
        prompt_id = self._prompt_id(name)
        if prompt_id is None:
            raise PlaygroundError(ErrorKind.NOT_FOUND, f"There is no prompt named {name!r}.")
        return prompt_id

    def _version_id(self, connection: Connection, name: str, version: int) -> int:
        version_id = connection.scalar(
            select(PromptVersionRow.id)
            .join(PromptRow, PromptRow.id == PromptVersionRow.prompt_id)
            .where(PromptRow.owner == self.owner, PromptRow.name == name, PromptVersionRow.version == version)
        )
        if version_id is None:
            raise PlaygroundError(ErrorKind.NOT_FOUND, f"The prompt {name!r} has no version {version}.")
        return version_id

    def _labels_by_version(self, connection: Connection, prompt_id: int) -> dict[int, list[str]]:
        labels: dict[int, list[str]] = {}
        for version_id, label in connection.execute(
            select(PromptLabelRow.version_id, PromptLabelRow.label)
            .where(PromptLabelRow.prompt_id == prompt_id)
            .order_by(PromptLabelRow.label)
        ):
            labels.setdefault(version_id, []).append(label)
        return labels
