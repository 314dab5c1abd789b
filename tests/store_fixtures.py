"""Database fixtures for the store tests: every test gets a fresh, empty database, on SQLite always
and on PostgreSQL too when ``PLAYGROUND_TEST_POSTGRES_URL`` points at a server (scripts/test.sh
starts a throwaway one)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from playground.store import Store, open_store

POSTGRES_VARIABLE = "PLAYGROUND_TEST_POSTGRES_URL"
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(not os.environ.get(POSTGRES_VARIABLE), reason=f"{POSTGRES_VARIABLE} is not set"),
    ),
]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """The URL of a new empty database (a SQLite file, or a PostgreSQL database made for the test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'playground.db'}"
        return
    server = make_url(os.environ[POSTGRES_VARIABLE])
    name = f"test_{secrets.token_hex(6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = open_store(database_url)
    yield opened
    opened.close()
