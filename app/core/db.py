"""Column types, engine settings and the reading of database errors, shared by every domain."""

import sqlite3
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError


# The largest value of an integer column on every database we run on (PostgreSQL's integer).
MAX_ID = 2**31 - 1


class UTCDateTime(sa.types.TypeDecorator):
    """Store instants as naive UTC (SQLite has no time zones); hand back aware UTC datetimes."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an instant is expected")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


def configure_sqlite(engine: Engine) -> None:
    """Make SQLite behave like a server database: one writer at a time, foreign keys on.

    pysqlite's own transaction handling is switched off so that SQLAlchemy emits
    BEGIN IMMEDIATE: a transaction takes the write lock when it starts, so two writers never
    read the same state and then both write (what PostgreSQL gets from row locks).
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def database_unreachable(error: DBAPIError) -> bool:
    """Whether a database error means the database cannot be reached (restarting, stopped, connection cut, locked
    for too long) rather than a fault of the request: the same request may succeed a few seconds later."""
    if error.connection_invalidated:
        return True
    if not isinstance(error, (OperationalError, InterfaceError)):
        return False
    # sqlite3 also calls a mistake in the SQL (no such table, syntax) an OperationalError: that one is a bug.
    return getattr(error.orig, "sqlite_errorcode", None) != sqlite3.SQLITE_ERROR


# Full-text search structures differ per database; migrations create them outside the models.
UNMODELLED_PREFIXES = ("proposals_fts", "search_vector", "ix_proposals_search_vector")


def is_modelled(name: str | None, _type=None, _parent_names=None) -> bool:
    """Whether Alembic should compare this database object with the models."""
    return not (name or "").startswith(UNMODELLED_PREFIXES)
