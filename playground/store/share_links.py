"""The share links an owner made: recorded when made, listed, revoked (the store side of
``playground.demo.links``; it is the :class:`~playground.demo.links.RevocationRegistry` links open with).

A link's token is signed, never stored: the row keeps its id, what it opens, its permission and
expiry, and when it was revoked. A revocation holds for whoever opens the link, whatever the owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from playground.errors import ErrorKind, PlaygroundError
from playground.store.models import DEFAULT_OWNER, ShareLinkRow, utc_now


@dataclass(frozen=True)
class ShareLinkInfo:
    """One link as the owner's list shows it."""

    link_id: str
    target: str  # a playground.demo.LinkTarget value
    target_id: str
    permission: str  # a playground.demo.LinkPermission value
    title: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    def is_active(self, now: datetime | None = None) -> bool:
        return self.revoked_at is None and self.expires_at > (now or utc_now())


class ShareLinkRepository:
    """The share links of one ``owner`` in one database."""

    def __init__(self, engine: Engine, owner: str = DEFAULT_OWNER) -> None:
        self.engine = engine
        self.owner = owner

    def record(
        self, link_id: str, target: str, target_id: str, permission: str, expires_at: datetime, title: str = ""
    ) -> None:
        """Remember a link just made (so it can be listed and revoked)."""
        with self.engine.begin() as connection:
            connection.execute(
                insert(ShareLinkRow).values(
                    link_id=link_id,
                    owner=self.owner,
                    target=target,
                    target_id=target_id,
                    permission=permission,
                    title=title[:500],
                    created_at=utc_now(),
                    expires_at=expires_at,
                    revoked_at=None,
                )
            )

    def list_links(self) -> list[ShareLinkInfo]:
        """This owner's links, newest first (revoked and expired ones included)."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(
                    ShareLinkRow.link_id,
                    ShareLinkRow.target,
                    ShareLinkRow.target_id,
                    ShareLinkRow.permission,
                    ShareLinkRow.title,
                    ShareLinkRow.created_at,
                    ShareLinkRow.expires_at,
                    ShareLinkRow.revoked_at,
                )
                .where(ShareLinkRow.owner == self.owner)
                .order_by(ShareLinkRow.created_at.desc(), ShareLinkRow.link_id)
            )
            return [ShareLinkInfo(*row) for row in rows]

    def revoke(self, link_id: str) -> None:
        """Refuse the link from now on (revoking a revoked link changes nothing)."""
        with self.engine.begin() as connection:
            found = connection.execute(
                select(ShareLinkRow.revoked_at).where(ShareLinkRow.link_id == link_id, ShareLinkRow.owner == self.owner)
            ).first()
            if found is None:
                raise PlaygroundError(ErrorKind.NOT_FOUND, "There is no such share link of yours to revoke.")
            if found.revoked_at is None:
                connection.execute(
                    update(ShareLinkRow).where(ShareLinkRow.link_id == link_id).values(revoked_at=utc_now())
                )

    def is_revoked(self, link_id: str) -> bool:
        """Whether the link was revoked (by its owner, whoever asks)."""
        with self.engine.connect() as connection:
            revoked_at = connection.scalar(select(ShareLinkRow.revoked_at).where(ShareLinkRow.link_id == link_id))
        return revoked_at is not None
