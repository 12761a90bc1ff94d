"""The pools hand out live connections without a round trip on every checkout; reads autocommit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError

from shelf.app import create_app
from shelf.core import db
from shelf.extensions import db as db_extension
from tests.support.checks import assert_problem
from tests.support.factories import make_settings

Options = Callable[[Any], dict[str, Any]]
BOTH_ENGINES = pytest.mark.parametrize(
    "options", [db.engine_options, db.read_engine_options], ids=["default", "reads"]
)


def _engine(url: str, options: Options = db.engine_options) -> Engine:
    arguments = options(make_settings(database_url=url))
    return create_engine(arguments.pop("url"), **arguments)


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        pid: int = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        return pid


def _terminate(url: str, pid: int) -> None:
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


@BOTH_ENGINES
def test_an_idle_connection_that_died_is_replaced(
    postgresql_url: str, monkeypatch: pytest.MonkeyPatch, options: Options
) -> None:
    engine = _engine(postgresql_url, options)
    _terminate(postgresql_url, _backend_pid(engine))
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    assert _backend_pid(engine) > 0
    engine.dispose()


@BOTH_ENGINES
def test_a_busy_connection_that_died_fails_once_then_the_pool_recovers(
    postgresql_url: str, options: Options
) -> None:
    engine = _engine(postgresql_url, options)
    _terminate(postgresql_url, _backend_pid(engine))
    with pytest.raises(OperationalError):
        _backend_pid(engine)
    assert _backend_pid(engine) > 0
    engine.dispose()


def test_reads_run_outside_a_transaction_and_writes_inside_one(postgresql_url: str) -> None:
    def status_after_a_select(engine: Engine) -> TransactionStatus:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            driver = connection.connection.driver_connection
            assert isinstance(driver, psycopg.Connection)
            return driver.info.transaction_status

    reads, default = _engine(postgresql_url, db.read_engine_options), _engine(postgresql_url)
    assert status_after_a_select(reads) == TransactionStatus.IDLE  # no BEGIN was sent
    assert status_after_a_select(default) == TransactionStatus.INTRANS
    reads.dispose()
    default.dispose()


def test_a_read_sees_what_another_connection_committed(postgresql_url: str) -> None:
    reads, default = _engine(postgresql_url, db.read_engine_options), _engine(postgresql_url)
    with default.begin() as writer:
        writer.execute(text("CREATE TABLE read_probe (n integer)"))
    try:
        with reads.connect() as reader:
            assert reader.execute(text("SELECT count(*) FROM read_probe")).scalar_one() == 0
            with default.begin() as writer:
                writer.execute(text("INSERT INTO read_probe VALUES (1)"))
            assert reader.execute(text("SELECT count(*) FROM read_probe")).scalar_one() == 1
    finally:
        with default.begin() as writer:
            writer.execute(text("DROP TABLE read_probe"))
        reads.dispose()
        default.dispose()


@pytest.mark.parametrize("path", ["/api/v1/books/1", "/api/v1/books?page=1"])
def test_a_read_while_the_database_is_unreachable_is_503(path: str) -> None:
    unreachable = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    app = create_app(make_settings(database_url=unreachable, cache_enabled=False))
    body = assert_problem(app.test_client().get(path), 503, "SERVICE_UNAVAILABLE")
    assert "127.0.0.1" not in str(body)


def _prepared_statements(engine: Engine) -> list[str]:
    """The statements the pooled connection of `engine` holds prepared on the server."""
    with engine.connect() as connection:
        found = connection.exec_driver_sql("SELECT statement FROM pg_prepared_statements")
        return [str(statement) for statement in found.scalars()]


def test_a_search_is_planned_for_each_term_never_once_for_all(postgresql_url: str) -> None:
    # A prepared search gets one generic plan after five runs: on a million books it walked the
    # whole title index for a term that the trigram index finds in a millisecond.
    app = create_app(make_settings(database_url=postgresql_url, cache_enabled=False))
    anon = app.test_client()
    for term in range(10):
        assert anon.get(f"/api/v1/books?q=term{term}").status_code == 200
        assert anon.get(f"/api/v1/books?author=Author{term}").status_code == 200
    with app.app_context():
        prepared = _prepared_statements(db_extension.reads)
        db_extension.dispose()
    assert any("author = " in statement for statement in prepared)  # the usual way, prepared
    assert not [statement for statement in prepared if "ILIKE" in statement.upper()]
