"""Read-only share links: a signed, expiring, revocable token for a saved session or prompt version.

A token is the link's claims (its id, what it opens, the viewer's permission, the expiry), signed
with HMAC-SHA256 by ``itsdangerous`` using the server's secret (``PLAYGROUND_SHARE_SECRET`` in the
environment, or ``[share] secret`` in secrets.toml). The claims are signed, not encrypted: they hold
ids only, never a key. Revocation is looked up through :class:`RevocationRegistry` (the store
implements it; :class:`InMemoryRevocations` is the in-process one). Expired, revoked and tampered
links are refused with distinct reasons and messages (:class:`ShareLinkRefused`).
"""

from __future__ import annotations

import hashlib
import secrets as secrets_module
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from itsdangerous import BadData, URLSafeSerializer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from playground.errors import ErrorKind, PlaygroundError

SECRET_ENV = "PLAYGROUND_SHARE_SECRET"
SECRETS_SECTION = "share"
SHARE_QUERY_PARAM = "share"  # ?share=<token> opens a shared link
MIN_SECRET_LENGTH = 32
MAX_LIFETIME = timedelta(days=365)
_SALT = "playground.share-link.v1"  # a token signed for anything else never verifies here
_SECRET_ADVICE = (
    f"Set {SECRET_ENV} in the server's environment (or secret under [{SECRETS_SECTION}] in "
    f".streamlit/secrets.toml) to a random value of at least {MIN_SECRET_LENGTH} characters, e.g. the output "
    'of `python -c "import secrets; print(secrets.token_urlsafe(32))"`, and restart the app.'
)


class LinkTarget(StrEnum):
    SESSION = "session"  # target_id: a saved session's id
    PROMPT_VERSION = "prompt_version"  # target_id: a prompt version's id


class LinkPermission(StrEnum):
    REPLAY = "replay"  # read and replay only
    SEND = "send"  # may also send requests billed to the owner (if the operator allows it)


class LinkRefusal(StrEnum):
    EXPIRED = "expired"
    REVOKED = "revoked"
    TAMPERED = "tampered"  # not signed by this deployment, altered, truncated, or not a link at all


@dataclass
class ShareLinkRefused(PlaygroundError):
    """A link that does not open; ``reason`` says why (the message says it to the viewer)."""

    reason: LinkRefusal = LinkRefusal.TAMPERED


class ShareGrant(BaseModel):
    """What a valid link grants: the claims it carries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    link_id: str = Field(min_length=8, max_length=64)
    target: LinkTarget
    target_id: str = Field(min_length=1, max_length=200)
    permission: LinkPermission = LinkPermission.REPLAY
    expires_at: datetime

    @property
    def may_send(self) -> bool:
        return self.permission is LinkPermission.SEND


@dataclass(frozen=True)
class ShareLink:
    """A created link: the token for the URL, and its grant (the store keeps ``grant.link_id`` to revoke it)."""

    token: str
    grant: ShareGrant

    def url(self, base_url: str) -> str:
        """The link on this deployment, e.g. ``https://playground.example/?share=...``."""
        separator = "&" if "?" in base_url else "?"
        return f"{base_url}{separator}{SHARE_QUERY_PARAM}={self.token}"


class RevocationRegistry(Protocol):
    """Where revocations live (the store implements it)."""

    def is_revoked(self, link_id: str) -> bool: ...


class InMemoryRevocations:
    """Revocations held in this process (tests, or a deployment without a store)."""

    def __init__(self) -> None:
        self._revoked: set[str] = set()

    def revoke(self, link_id: str) -> None:
        self._revoked.add(link_id)

    def is_revoked(self, link_id: str) -> bool:
        return link_id in self._revoked


def share_secret(environ: Mapping[str, str], secrets: Mapping[str, Any] | None = None) -> str:
    """The server's signing secret; raises PlaygroundError (CONFIGURATION) saying how to set one."""
    section = (secrets or {}).get(SECRETS_SECTION) or {}
    value = environ.get(SECRET_ENV) or (section.get("secret") if isinstance(section, Mapping) else None)
    if not value:
        raise PlaygroundError(
            ErrorKind.CONFIGURATION, "Share links are off: this server has no signing secret. " + _SECRET_ADVICE
        )
    if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH:
        raise PlaygroundError(
            ErrorKind.CONFIGURATION, "Share links are off: the server's signing secret is too short. " + _SECRET_ADVICE
        )
    return value


class ShareLinks:
    """Creates and opens share links with one server secret."""

    def __init__(
        self,
        secret: str,
        revocations: RevocationRegistry,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            raise PlaygroundError(ErrorKind.CONFIGURATION, "The share-link secret is too short. " + _SECRET_ADVICE)
        self._serializer = URLSafeSerializer(
            secret, salt=_SALT, signer_kwargs={"digest_method": hashlib.sha256, "key_derivation": "hmac"}
        )
        self._revocations = revocations
        self._now = now

    @classmethod
    def from_config(
        cls, environ: Mapping[str, str], secrets: Mapping[str, Any] | None, revocations: RevocationRegistry
    ) -> ShareLinks:
        """Share links with the server's configured secret (refused, with what to do, without one)."""
        return cls(share_secret(environ, secrets), revocations)

    def create(
        self,
        target: LinkTarget,
        target_id: str,
        *,
        expires_in: timedelta,
        permission: LinkPermission = LinkPermission.REPLAY,
    ) -> ShareLink:
        """Sign a link to ``target_id`` valid for ``expires_in`` (at most a year)."""
        if not timedelta(0) < expires_in <= MAX_LIFETIME:
            raise PlaygroundError.invalid_input("A share link must expire within a year (and not in the past).")
        expires_at = (self._now() + expires_in).replace(microsecond=0)
        grant = ShareGrant(
            link_id=secrets_module.token_urlsafe(12),
            target=target,
            target_id=target_id,
            permission=permission,
            expires_at=expires_at,
        )
        claims = grant.model_dump(mode="json")
        claims["expires_at"] = int(expires_at.timestamp())
        return ShareLink(token=self._serializer.dumps(claims), grant=grant)

    def open(self, token: str) -> ShareGrant:
        """The grant of a valid link; raises :class:`ShareLinkRefused` (expired, revoked or tampered)."""
        try:
            claims = self._serializer.loads(token.strip())
            grant = ShareGrant.model_validate(
                {**claims, "expires_at": datetime.fromtimestamp(claims["expires_at"], UTC)}
            )
        except (BadData, ValidationError, KeyError, TypeError, ValueError, OverflowError):
            raise ShareLinkRefused(
                ErrorKind.PERMISSION,
                "This link is not valid here: it was changed, cut short, or made by another deployment. "
                "Ask its owner to send it again.",
                reason=LinkRefusal.TAMPERED,
            ) from None
        if grant.expires_at <= self._now():
            raise ShareLinkRefused(
                ErrorKind.PERMISSION,
                f"This link expired on {grant.expires_at:%Y-%m-%d %H:%M} UTC. Ask its owner for a new one.",
                reason=LinkRefusal.EXPIRED,
            )
        if self._revocations.is_revoked(grant.link_id):
            raise ShareLinkRefused(
                ErrorKind.PERMISSION,
                "This link was revoked by its owner. Ask them for a new one if you still need it.",
                reason=LinkRefusal.REVOKED,
            )
        return grant
