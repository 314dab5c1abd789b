"""Opening the database: the URL, the engine, and the schema brought up to date by Alembic.

A database whose schema revision this code does not know (written by a newer playground) is
refused before anything is written to it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from playground.errors import ErrorKind, PlaygroundError

DATABASE_URL_VARIABLE = "PLAYGROUND_DATABASE_URL"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_PATH = PROJECT_ROOT / "data" / "playground.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 30
POSTGRES_CONNECT_TIMEOUT_S = 5


def database_url(env: Mapping[str, str] | None = None) -> str:
    """``PLAYGROUND_DATABASE_URL``, or a SQLite file under the project's git-ignored ``data/``."""
    env = os.environ if env is None else env
    return env.get(DATABASE_URL_VARIABLE) or f"sqlite:///{DEFAULT_DATABASE_PATH}"


def safe_url(url: str) -> str:
    """``url`` fit to show: any password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable database URL)"


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest schema revision this code knows."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None, "the migrations folder has no revision"
    return head


def create_database_engine(url: str, busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_S) -> Engine:
    """An engine for ``url``. SQLite files get their folder created, WAL, foreign keys and a busy
    timeout of ``busy_timeout_s`` (concurrent writers wait rather than fail); PostgreSQL goes
    through psycopg 3, with a connect timeout (a server that is down fails fast)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise PlaygroundError(
            ErrorKind.CONFIGURATION, f"{DATABASE_URL_VARIABLE} is not a database URL ({exc})."
        ) from None
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        connect_args["timeout"] = busy_timeout_s
        if parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise PlaygroundError(
                    ErrorKind.CONFIGURATION, f"Cannot open the database {safe_url(url)}: {exc.strerror or exc}"
                ) from None
    elif parsed.get_backend_name() == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is the driver we ship
        if "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
    try:
        engine = create_engine(parsed, connect_args=connect_args)
    except (ArgumentError, ImportError) as exc:
        raise PlaygroundError(ErrorKind.CONFIGURATION, f"Cannot use the database {safe_url(url)}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_schema(engine: Engine) -> None:
    """Create the schema in an empty database or upgrade it to the newest revision.

    Raises PlaygroundError (nothing is changed) when the database is at a revision this code does
    not know, which means a newer playground wrote it, or it is another application's database.
    """
    config = _alembic_config()
    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    try:
        revision = current_revision(engine)
    except SQLAlchemyError as exc:
        raise unavailable(engine, exc) from None
    if revision is not None and revision not in known:
        raise PlaygroundError(
            ErrorKind.CONFIGURATION,
            f"The database {safe_url(engine.url.render_as_string(hide_password=False))} has schema revision "
            f"{revision!r}, which this playground does not know (its newest is {head_revision()!r}): a newer "
            "version of the playground wrote it. Upgrade the playground, or point "
            f"{DATABASE_URL_VARIABLE} at another database. The database was not changed.",
        )
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise unavailable(engine, exc) from None


def unavailable(engine: Engine, exc: SQLAlchemyError) -> PlaygroundError:
    """``exc`` (the database refused, is locked or down) as a PlaygroundError naming the database."""
    original = getattr(exc, "orig", None)  # the driver's own error says it best
    reason = (str(original if original is not None else exc).strip().splitlines() or [type(exc).__name__])[0]
    return PlaygroundError(
        ErrorKind.CONFIGURATION,
        f"Cannot open the database {safe_url(engine.url.render_as_string(hide_password=False))}: {reason}",
    )


def open_engine(url: str | None = None, busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_S) -> Engine:
    """The engine for ``url`` (default: :func:`database_url`), its schema created or upgraded."""
    engine = create_database_engine(url or database_url(), busy_timeout_s)
    try:
        upgrade_schema(engine)
    except PlaygroundError:
        engine.dispose()
        raise
    return engine
