"""The private servers behave as the fault tests assume: frozen, it hangs; thawed, it answers."""

from __future__ import annotations

import time

import psycopg
import pytest

from tests.support.private_postgres import PrivatePostgres


def test_a_frozen_postgres_hangs_and_a_thawed_one_answers(postgres: PrivatePostgres) -> None:
    with psycopg.connect(postgres.conninfo, autocommit=True) as connection:
        postgres.freeze()
        started = time.monotonic()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(postgres.conninfo)  # connect_timeout=3 in the conninfo
        assert time.monotonic() - started >= 2.5
        postgres.thaw()
        assert connection.execute("SELECT 1").fetchone() == (1,)


def test_terminated_connections_are_gone(postgres: PrivatePostgres) -> None:
    connection = psycopg.connect(postgres.conninfo, autocommit=True)
    assert postgres.terminate_connections() >= 1
    with pytest.raises(psycopg.OperationalError):
        connection.execute("SELECT 1")
    connection.close()
