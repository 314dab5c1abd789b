"""Share links: signed, expiring, revocable; expired, revoked and tampered links are refused apart."""

from __future__ import annotations

import base64
import json
import zlib
from datetime import UTC, datetime, timedelta

import pytest

from playground.demo import (
    InMemoryRevocations,
    LinkPermission,
    LinkRefusal,
    LinkTarget,
    ShareLinkRefused,
    ShareLinks,
    share_secret,
)
from playground.errors import ErrorKind, PlaygroundError

SECRET = "s" * 16 + "e" * 16 + "cret"


class Now:
    def __init__(self) -> None:
        self.value = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.value


@pytest.fixture
def now() -> Now:
    return Now()


@pytest.fixture
def revocations() -> InMemoryRevocations:
    return InMemoryRevocations()


@pytest.fixture
def links(now, revocations) -> ShareLinks:
    return ShareLinks(SECRET, revocations, now=now)


def refusal(links: ShareLinks, token: str) -> ShareLinkRefused:
    with pytest.raises(ShareLinkRefused) as caught:
        links.open(token)
    assert caught.value.kind is ErrorKind.PERMISSION
    return caught.value


def claims_of(token: str) -> dict:
    payload = token.split(".")[-2] if token.startswith(".") else token.split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return json.loads(zlib.decompress(raw) if token.startswith(".") else raw)


def test_round_trip_for_a_session_and_a_prompt_version(links):
    link = links.create(LinkTarget.SESSION, "sess_123", expires_in=timedelta(days=7))
    grant = links.open(link.token)
    assert grant == link.grant
    assert grant.target is LinkTarget.SESSION and grant.target_id == "sess_123"
    assert grant.permission is LinkPermission.REPLAY and not grant.may_send
    assert grant.expires_at == datetime(2026, 12, 8, 20, 0, tzinfo=UTC)
    version = links.create(
        LinkTarget.PROMPT_VERSION, "prompt_9:v3", expires_in=timedelta(hours=1), permission=LinkPermission.SEND
    )
    assert links.open(version.token).may_send and version.grant.link_id != link.grant.link_id
    assert link.url("https://demo.example/") == f"https://demo.example/?share={link.token}"
    assert link.url("https://demo.example/?present=1").endswith(f"&share={link.token}")


def test_an_expired_link_is_refused_with_its_date(links, now):
    link = links.create(LinkTarget.SESSION, "sess_1", expires_in=timedelta(hours=2))
    now.value += timedelta(hours=2)
    refused = refusal(links, link.token)
    assert refused.reason is LinkRefusal.EXPIRED and "expired on 2026-12-01 22:00 UTC" in refused.message


def test_a_revoked_link_is_refused(links, revocations):
    link = links.create(LinkTarget.SESSION, "sess_1", expires_in=timedelta(days=1))
    other = links.create(LinkTarget.SESSION, "sess_1", expires_in=timedelta(days=1))
    revocations.revoke(link.grant.link_id)
    refused = refusal(links, link.token)
    assert refused.reason is LinkRefusal.REVOKED and "revoked by its owner" in refused.message
    assert links.open(other.token).link_id == other.grant.link_id  # revoking one link leaves the others


def test_tampered_truncated_foreign_and_junk_links_are_refused(links, now, revocations):
    link = links.create(LinkTarget.SESSION, "sess_1", expires_in=timedelta(days=1))
    payload, signature = link.token.rsplit(".", 1)
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    forged_claims = {**claims_of(link.token), "permission": "send"}
    forged = base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).decode().rstrip("=") + "." + signature
    foreign = ShareLinks("x" * 40, revocations, now=now).create(LinkTarget.SESSION, "sess_1", expires_in=timedelta(1))
    for token in (f"{payload}.{flipped}", link.token[:-5], forged, foreign.token, "", "not-a-link"):
        refused = refusal(links, token)
        assert refused.reason is LinkRefusal.TAMPERED and "not valid here" in refused.message


def test_the_three_refusals_read_differently(links, now, revocations):
    expired = links.create(LinkTarget.SESSION, "a", expires_in=timedelta(minutes=1))
    revoked = links.create(LinkTarget.SESSION, "b", expires_in=timedelta(days=1))
    revocations.revoke(revoked.grant.link_id)
    now.value += timedelta(minutes=5)
    messages = {refusal(links, token).message for token in (expired.token, revoked.token, expired.token + "x")}
    assert len(messages) == 3


def test_a_link_carries_ids_only_never_a_key(links):
    link = links.create(LinkTarget.SESSION, "sess_1", expires_in=timedelta(days=1))
    claims = claims_of(link.token)
    assert set(claims) == {"link_id", "target", "target_id", "permission", "expires_at"}
    assert SECRET not in link.token and "sk-" not in link.token


def test_no_secret_no_links_with_a_message_an_operator_can_act_on(revocations):
    with pytest.raises(PlaygroundError) as caught:
        ShareLinks.from_config({}, None, revocations)
    assert caught.value.kind is ErrorKind.CONFIGURATION
    assert "PLAYGROUND_SHARE_SECRET" in caught.value.message and "token_urlsafe" in caught.value.message
    with pytest.raises(PlaygroundError) as short:
        share_secret({"PLAYGROUND_SHARE_SECRET": "short"})
    assert "too short" in short.value.message and "32 characters" in short.value.message


def test_the_secret_comes_from_the_environment_or_secrets(revocations):
    assert share_secret({"PLAYGROUND_SHARE_SECRET": SECRET}) == SECRET
    assert share_secret({}, {"share": {"secret": SECRET}}) == SECRET
    links = ShareLinks.from_config({}, {"share": {"secret": SECRET}}, revocations)
    token = links.create(LinkTarget.SESSION, "s", expires_in=timedelta(days=1)).token
    assert ShareLinks(SECRET, revocations).open(token).target_id == "s"


def test_a_link_must_expire_within_a_year(links):
    for lifetime in (timedelta(0), timedelta(days=-1), timedelta(days=366)):
        with pytest.raises(PlaygroundError) as caught:
            links.create(LinkTarget.SESSION, "s", expires_in=lifetime)
        assert caught.value.kind is ErrorKind.INVALID_INPUT
