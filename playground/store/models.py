"""The tables. Every row that holds user work carries ``owner`` (``DEFAULT_OWNER`` until sign-in).

JSON bodies are stored as text: the text that is hashed to skip unchanged rows is the text written.
The schema itself is created and changed only by the Alembic revisions in ``migrations/``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

DEFAULT_OWNER = "local"


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class SessionRow(Base):
    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200), index=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    # Everything but the messages (SessionDocument.header()), and its digest.
    body: Mapped[str] = mapped_column(Text)
    body_hash: Mapped[str] = mapped_column(String(64))
    # The message ids in conversation order, as a JSON list.
    message_order: Mapped[str] = mapped_column(Text, default="[]")
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class MessageRow(Base):
    __tablename__ = "messages"

    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  # a MessageDoc, images by digest only
    body_hash: Mapped[str] = mapped_column(String(64))


class BlobRow(Base):
    """Image bytes, stored once per content digest."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BlobRefRow(Base):
    """Who uses a blob: ``holder`` is a session id or ``prompt-version:<id>``; ``part`` a message id
    (or ``pending`` / ``setup``). A blob no row refers to is deleted."""

    __tablename__ = "blob_refs"

    holder: Mapped[str] = mapped_column(String(100), primary_key=True)
    part: Mapped[str] = mapped_column(String(64), primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"), primary_key=True, index=True)


class PromptRow(Base):
    __tablename__ = "prompts"
    __table_args__ = (UniqueConstraint("owner", "name", name="uq_prompts_owner_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    # The version this prompt was forked from (kept as a plain id: the source may be deleted).
    forked_from_version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PromptVersionRow(Base):
    """One immutable save of a prompt. (prompt_id, version) is unique: concurrent saves retry."""

    __tablename__ = "prompt_versions"
    __table_args__ = (UniqueConstraint("prompt_id", "version", name="uq_prompt_versions_prompt_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"), index=True)
    owner: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text)  # a SessionDocument (its setup), images by digest
    search_text: Mapped[str] = mapped_column(Text, default="")  # lower-cased system prompt and messages
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PromptTagRow(Base):
    __tablename__ = "prompt_tags"

    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))


class PromptLabelRow(Base):
    """A named pointer (``production``, ``staging``...) at one version of a prompt."""

    __tablename__ = "prompt_labels"

    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(100), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("prompt_versions.id", ondelete="CASCADE"))
    owner: Mapped[str] = mapped_column(String(200))


Index("ix_prompt_tags_tag", PromptTagRow.tag)


class ShareLinkRow(Base):
    """A share link the owner made (the token itself is never stored: it is signed, not looked up).

    ``revoked_at`` set: the link is refused from then on. ``title`` is what the owner's list shows."""

    __tablename__ = "share_links"

    link_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200), index=True)
    target: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(200))
    permission: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TestSetVersionRow(Base):
    """One immutable save of a test set (its rows) with the graders it is run with."""

    __tablename__ = "test_set_versions"
    __test__ = False  # not a pytest class
    __table_args__ = (UniqueConstraint("owner", "name", "version", name="uq_test_set_versions_owner_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)  # TestSet.to_json()
    graders: Mapped[str] = mapped_column(Text, default="[]")  # GRADERS.dump_json
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EvalRunRow(Base):
    """A run over a test set: its exact configuration and results so far (a RunState as JSON)."""

    __tablename__ = "eval_runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200), index=True)
    test_set_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
