"""Opening the history database by URL, and bringing its schema to the newest migration.

``sqlite:///FILE`` (the default, ``harness-history.sqlite``: embedded, nothing to run) or
``postgresql://USER:PASSWORD@HOST/DB`` (a shared server for many lab hosts; also
``postgresql://USER@/DB?host=/run/postgresql`` for a local socket). A plain ``postgresql://`` URL
is given the psycopg 3 driver (SQLAlchemy's default is psycopg2, which the harness does not
install); ``postgresql+psycopg2://`` and the like are kept as written.

Concurrent writers: SQLite transactions start with ``BEGIN IMMEDIATE`` (SQLAlchemy's documented
recipe for pysqlite, whose own transaction handling defers BEGIN and leaves DDL outside it), so two
ingests queue for the write lock instead of failing half-way, waiting up to ``SQLITE_BUSY_S``;
migrations on PostgreSQL hold an advisory lock, so two hosts upgrading one database at once do it
one after the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from harness.errors import UsageError

DEFAULT_URL = "sqlite:///harness-history.sqlite"
MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_S = 120.0
MIGRATION_LOCK = 0x68697374  # pg_advisory_xact_lock key ("hist")
URL_HELP = ("give --db as sqlite:///PATH (e.g. sqlite:///harness-history.sqlite) or "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE")


def engine_for(url: str) -> Engine:
    """An engine for a history URL; UsageError for one the harness cannot use."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UsageError(f"--db {url!r}: not a database URL ({exc}); {URL_HELP}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        db = parsed.database or ""
        if db in ("", ":memory:"):
            raise UsageError(f"--db {url!r}: an in-memory SQLite database keeps nothing; {URL_HELP}")
        parent = Path(db).expanduser().resolve().parent
        if not parent.is_dir():
            raise UsageError(f"--db {url!r}: folder {parent} does not exist; create it or pick another path")
        engine = sa.create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_S})
        _sqlite_transactions(engine)
        return engine
    if backend == "postgresql":
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            return sa.create_engine(parsed, pool_pre_ping=True)
        except (NoSuchModuleError, ModuleNotFoundError) as exc:
            raise UsageError(f"--db {url!r}: no driver for it here ({exc}); use postgresql:// (psycopg 3, "
                             "installed with the harness)") from None
    raise UsageError(f"--db {url!r}: the history keeps to SQLite and PostgreSQL, not {backend}; {URL_HELP}")


def _sqlite_transactions(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # pysqlite issues no BEGIN of its own
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest migration (a no-op when it is there), under a lock."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def safe_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


@dataclass
class History:
    """An open, migrated history database."""

    engine: Engine

    @classmethod
    def open(cls, url: str = DEFAULT_URL) -> History:
        """Connect and migrate; UsageError (naming the URL and the fix) when that is impossible."""
        engine = engine_for(url)
        try:
            migrate(engine)
        except OperationalError as exc:
            engine.dispose()
            first = (str(exc.orig or exc).strip().splitlines() or [""])[0]
            raise UsageError(f"--db {safe_url(engine)}: cannot open the history database ({first}); "
                             "is the server up and the URL right?") from None
        return cls(engine)

    @property
    def url(self) -> str:
        return safe_url(self.engine)

    def close(self) -> None:
        self.engine.dispose()
