"""Database layer: the declarative base, UTC timestamps, and engine options with timeouts.

The Flask extension that binds engines and sessions to the app is `shelf.extensions.db`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import Pool
from sqlalchemy.types import TypeDecorator

from shelf.config import Settings

__all__ = [
    "Base",
    "UTCDateTime",
    "engine_options",
    "read_engine_options",
    "schema_filter",
    "utcnow",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# A pooled connection unused for this long is checked with a round trip before it is handed out.
PING_AFTER_IDLE_SECONDS = 10.0


class Base(DeclarativeBase):
    """Base of every model; constraint names follow one convention so migrations are stable."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use shelf.core.db.utcnow()")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def schema_filter(dialect: str) -> Callable[..., bool]:
    """Alembic's `include_object` for `dialect`: what of the models its schema must have.

    GIN indexes (the trigram indexes serving `q`) exist on PostgreSQL only.
    """

    def include(item: Any, name: str | None, kind: str, reflected: bool, other: Any) -> bool:
        if kind == "index" and not reflected and dialect != "postgresql":
            return bool(item.dialect_options["postgresql"]["using"] != "gin")
        return True

    return include


def engine_options(settings: Settings) -> dict[str, Any]:
    """Engine keyword arguments for the configured database, every wait bounded by a timeout."""
    if settings.is_sqlite:
        return {
            "url": settings.database_url,
            "connect_args": {"timeout": settings.db_lock_timeout_ms / 1000},
        }
    server_options = (
        f"-c statement_timeout={settings.db_statement_timeout_ms}"
        f" -c lock_timeout={settings.db_lock_timeout_ms}"
    )
    return {
        "url": settings.database_url,
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_pool_size,
        "pool_timeout": settings.db_pool_timeout,
        "pool_recycle": 1800,
        "connect_args": {
            "connect_timeout": settings.db_connect_timeout,
            "options": server_options,
            "application_name": "shelf",
        },
    }


def read_engine_options(settings: Settings) -> dict[str, Any]:
    """The options of `db.reads`: the same database and timeouts, every connection in autocommit.

    An engine of its own rather than autocommit set on each checkout from the main pool: that
    setting and its reset on return cost about a sixth of a read by id. With nothing to roll
    back, the pool does not reset a connection it takes back. The pool fills lazily, so a
    worker keeps about one such connection per thread.
    """
    return {
        **engine_options(settings),
        "isolation_level": "AUTOCOMMIT",
        "pool_reset_on_return": None,
    }


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # WAL lets readers and one writer work at once across server worker processes.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        # SQLite's own lower() folds ASCII only; case-insensitive search must match "Émile"
        # as PostgreSQL does.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)


def _lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


# Instead of SQLAlchemy's pool_pre_ping, which spends a round trip on every checkout (a quarter
# of a read by id), only a connection that sat idle is pinged: that is when a restarted or
# failed-over database has dropped it unseen. A connection that breaks while busy is caught
# by SQLAlchemy's disconnect detection, which discards the whole pool.
@event.listens_for(Pool, "checkin")
def _mark_idle(dbapi_connection: Any, connection_record: Any) -> None:
    if connection_record is not None:
        connection_record.info["idle_since"] = time.monotonic()


@event.listens_for(Pool, "checkout")
def _ping_if_idle(dbapi_connection: Any, connection_record: Any, proxy: Any) -> None:
    idle_since = connection_record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_connection.rollback()  # leave no transaction open behind the ping
    except Exception as exc:
        # The pool discards this connection and hands out a fresh one instead.
        raise DisconnectionError("pooled connection is gone") from exc


def serialize_sqlite_writes(engine: Engine) -> None:
    """Make each transaction on SQLite `engine` take the write lock when it begins.

    pysqlite begins a transaction at the first write, so two writers that both read a row
    first would each change their own copy, and the version check would fail the later one.
    With BEGIN IMMEDIATE the second waits (up to the busy timeout) for the first to commit and
    then reads what it wrote, as a row lock does on PostgreSQL. `db.reads` is left alone.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
