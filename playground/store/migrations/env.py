"""Alembic environment: runs on the connection ``playground.store.database`` hands over
(``config.attributes["connection"]``), or, for the ``alembic`` command line, on the database
``PLAYGROUND_DATABASE_URL`` names (default data/playground.db)."""

from __future__ import annotations

from alembic import context

from playground.store.database import create_database_engine, database_url
from playground.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_database_engine(config.get_main_option("sqlalchemy.url") or database_url())
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run against a database.")
run_migrations_online()
