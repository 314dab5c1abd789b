"""Share links in the store: recorded, listed newest first, revoked (and so refused when opened
through ShareLinks), on SQLite and (when available) PostgreSQL; the migration adds and drops the table."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import inspect

from playground.demo import LinkPermission, LinkRefusal, LinkTarget, ShareLinkRefused, ShareLinks
from playground.errors import ErrorKind, PlaygroundError
from playground.store.database import _alembic_config
from playground.store.share_links import ShareLinkRepository

pytest_plugins = ["tests.store_fixtures"]  # the database_url and store fixtures

SECRET = "s" * 40


def links(store) -> tuple[ShareLinks, ShareLinkRepository]:
    repository = ShareLinkRepository(store.engine)
    return ShareLinks(SECRET, repository), repository


def test_a_recorded_link_is_listed_opens_and_is_refused_once_revoked(store):
    signer, repository = links(store)
    first = signer.create(LinkTarget.SESSION, "abc123", expires_in=timedelta(days=7))
    second = signer.create(
        LinkTarget.PROMPT_VERSION, "triage@2", expires_in=timedelta(hours=1), permission=LinkPermission.SEND
    )
    for link, title in ((first, "Support demo"), (second, "triage v2")):
        grant = link.grant
        repository.record(grant.link_id, grant.target, grant.target_id, grant.permission, grant.expires_at, title)
    listed = repository.list_links()
    assert {info.link_id for info in listed} == {first.grant.link_id, second.grant.link_id}
    by_id = {info.link_id: info for info in listed}
    assert by_id[second.grant.link_id].title == "triage v2" and by_id[second.grant.link_id].permission == "send"
    assert by_id[first.grant.link_id].expires_at == first.grant.expires_at  # tz-aware on every backend
    assert all(info.is_active() for info in listed)

    assert signer.open(first.token).target_id == "abc123"
    repository.revoke(first.grant.link_id)
    repository.revoke(first.grant.link_id)  # twice: no change, no error
    with pytest.raises(ShareLinkRefused) as refused:
        signer.open(first.token)
    assert refused.value.reason is LinkRefusal.REVOKED
    assert signer.open(second.token).may_send  # the other link still opens
    assert not {info.link_id: info for info in repository.list_links()}[first.grant.link_id].is_active()


def test_revoking_someone_elses_or_an_unknown_link_is_refused_and_revocation_holds_for_any_reader(store):
    signer, mine = links(store)
    link = signer.create(LinkTarget.SESSION, "abc123", expires_in=timedelta(days=1))
    grant = link.grant
    mine.record(grant.link_id, grant.target, grant.target_id, grant.permission, grant.expires_at)
    theirs = ShareLinkRepository(store.engine, owner="someone-else")
    with pytest.raises(PlaygroundError) as error:
        theirs.revoke(grant.link_id)
    assert error.value.kind is ErrorKind.NOT_FOUND
    assert theirs.list_links() == []
    mine.revoke(grant.link_id)
    assert theirs.is_revoked(grant.link_id)  # a viewer's process is not the owner
    assert not mine.is_revoked("never-recorded")


def test_the_share_links_migration_upgrades_and_downgrades(store):
    assert "share_links" in inspect(store.engine).get_table_names()
    config = _alembic_config()
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    assert "share_links" not in inspect(store.engine).get_table_names()
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    assert "share_links" in inspect(store.engine).get_table_names()
