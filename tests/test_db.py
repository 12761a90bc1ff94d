"""The pool hands out live connections without a round trip on every checkout."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError

from shelf import db
from tests.conftest import make_settings


def _engine(url: str) -> Engine:
    options = db.engine_options(make_settings(database_url=url))
    return create_engine(options.pop("url"), **options)


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        pid: int = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        return pid


def _terminate(url: str, pid: int) -> None:
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_an_idle_connection_that_died_is_replaced(
    postgresql_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(postgresql_url)
    _terminate(postgresql_url, _backend_pid(engine))
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    assert _backend_pid(engine) > 0
    engine.dispose()


def test_a_busy_connection_that_died_fails_once_then_the_pool_recovers(
    postgresql_url: str,
) -> None:
    engine = _engine(postgresql_url)
    _terminate(postgresql_url, _backend_pid(engine))
    with pytest.raises(OperationalError):
        _backend_pid(engine)
    assert _backend_pid(engine) > 0
    engine.dispose()
