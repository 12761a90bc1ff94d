"""Readiness through dependency outages: a shared outage degrades it, never empties the cluster.

A dependency that stops or hangs leaves readiness at 200 `degraded`, answered within
READINESS_TIMEOUT; READINESS_REQUIRES naming it makes it 503. A pool filled because the
database hangs is the same shared outage; a pool filled while the database answers is this
instance's own load, and takes it out of rotation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import Connection
from sqlalchemy.pool import QueuePool

from shelf.app import create_app
from shelf.extensions import db
from tests.support.factories import make_settings
from tests.support.private_postgres import PrivatePostgres
from tests.support.private_redis import PrivateRedis

READINESS_TIMEOUT = 1.0
# The answer waits for the checks' deadline, never for each check in turn: the margin is for
# the request itself.
MARGIN = 0.5


class Probe:
    """Readiness asked through a test client, each answer timed; the worst and the 5xx told."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.worst = 0.0
        self.errors = 0

    def get(self, client: FlaskClient) -> tuple[int, dict[str, object]]:
        started = time.monotonic()
        response = client.get("/readiness")
        self.worst = max(self.worst, time.monotonic() - started)
        self.errors += response.status_code >= 500
        return response.status_code, response.get_json()

    def report(self) -> None:
        print(f"\n{self.name}: worst readiness answer {self.worst:.3f} s, {self.errors} x 5xx")


@pytest.fixture
def make_app() -> Iterator[Callable[..., APIFlask]]:
    made: list[APIFlask] = []

    def make(**settings: object) -> APIFlask:
        made.append(create_app(make_settings(readiness_timeout=READINESS_TIMEOUT, **settings)))
        return made[-1]

    yield make
    for app in made:
        with app.app_context():
            db.dispose()


POSTGRES_TROUBLES = [
    pytest.param(PrivatePostgres.stop, PrivatePostgres.start, id="stopped"),
    pytest.param(PrivatePostgres.freeze, PrivatePostgres.thaw, id="frozen"),
]


@pytest.mark.parametrize(("trouble", "mend"), POSTGRES_TROUBLES)
def test_postgres_down_degrades_readiness_unless_required(
    postgres: PrivatePostgres,
    make_app: Callable[..., APIFlask],
    trouble: Callable[[PrivatePostgres], None],
    mend: Callable[[PrivatePostgres], None],
) -> None:
    lenient = make_app(database_url=postgres.url).test_client()
    strict = make_app(database_url=postgres.url, readiness_requires="database").test_client()
    probe = Probe(f"postgres {trouble.__name__}")
    assert probe.get(lenient)[1]["status"] == "ready"
    assert probe.get(strict)[0] == 200

    trouble(postgres)
    for _ in range(3):
        status, body = probe.get(lenient)
        assert status == 200
        assert body["status"] == "degraded"
        assert body["checks"]["database"]["status"] == "failing"  # type: ignore[index]
    status, body = probe.get(strict)
    assert status == 503
    assert [d["field"] for d in body["details"]] == ["database"]  # type: ignore[attr-defined]

    mend(postgres)
    assert probe.get(lenient)[1]["status"] == "ready"
    probe.report()
    assert probe.errors == 1  # the strict one, by design
    assert probe.worst < READINESS_TIMEOUT + MARGIN


def test_redis_down_degrades_readiness_unless_required(
    private_redis: PrivateRedis, make_app: Callable[..., APIFlask], tmp_path: Path
) -> None:
    settings = {
        "database_url": f"sqlite:///{tmp_path / 'ready.db'}",
        "redis_url": private_redis.url,
    }
    lenient = make_app(**settings).test_client()
    strict = make_app(readiness_requires="redis", **settings).test_client()
    probe = Probe("redis stopped")
    assert probe.get(lenient)[1]["status"] == "ready"

    private_redis.stop()
    status, body = probe.get(lenient)
    assert (status, body["status"]) == (200, "degraded")
    assert body["checks"]["redis"]["status"] == "failing"  # type: ignore[index]
    status, body = probe.get(strict)
    assert status == 503
    assert [d["field"] for d in body["details"]] == ["redis"]  # type: ignore[attr-defined]

    private_redis.start()
    assert probe.get(lenient)[1]["status"] == "ready"
    probe.report()
    assert probe.errors == 1
    assert probe.worst < READINESS_TIMEOUT + MARGIN


def hold_every_connection(app: APIFlask) -> list[Connection]:
    with app.app_context():
        pool = db.engine.pool
        assert isinstance(pool, QueuePool)
        return [db.engine.connect() for _ in range(pool.size() + pool._max_overflow)]


def test_a_full_pool_fails_readiness_only_while_the_database_answers(
    postgres: PrivatePostgres, make_app: Callable[..., APIFlask]
) -> None:
    app = make_app(database_url=postgres.url, db_pool_size=2)
    client = app.test_client()
    probe = Probe("full pool")
    held = hold_every_connection(app)
    try:
        status, body = probe.get(client)
        assert status == 503  # this instance's own load: other instances take the traffic
        assert [d["field"] for d in body["details"]] == ["pool.writes"]  # type: ignore[attr-defined]

        postgres.freeze()  # every instance's pool would fill alike: stay in rotation
        status, body = probe.get(client)
        assert (status, body["status"]) == (200, "degraded")
    finally:
        postgres.thaw()
        for connection in held:
            connection.close()
    probe.report()
    assert probe.worst < READINESS_TIMEOUT + MARGIN
