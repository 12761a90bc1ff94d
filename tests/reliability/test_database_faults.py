"""The production server while its database hangs, stops or loses its connections.

`shelf serve` (granian, 2 workers) on a private PostgreSQL, with clients calling liveness, a
cached read, reads and writes that need the database. Whatever the database does, liveness
and cache hits answer at once, a request that needs the database is answered within the
statement timeout (503 with Retry-After when the database cannot answer), and service is back
within seconds of the database.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
import requests

from tests.support.factories import migrate
from tests.support.load import Load, Outcome, p99, summary
from tests.support.private_postgres import PrivatePostgres
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.server

STATEMENT_TIMEOUT_MS = 2000
DEADLINE = STATEMENT_TIMEOUT_MS / 1000 + 0.5  # the guarantee for a request that needs the database
FAST = 0.1  # the guarantee (p99) for liveness and cache hits
RECOVERY = 5.0  # seconds after the database is back
DATABASE_KINDS = ("read", "write", "keyed read")
PAUSE = 0.01  # seconds each client rests after an answer


@pytest.fixture
def server(
    start_server: Callable[..., ServerProcess],
    postgres: PrivatePostgres,
    redis_url: str,
    redis_prefix: str,
) -> ServerProcess:
    migrate(postgres.url)
    return start_server(
        SERVER="granian",
        WEB_CONCURRENCY="2",
        DATABASE_URL=postgres.url,
        REDIS_URL=redis_url,
        REDIS_KEY_PREFIX=redis_prefix,
        DB_STATEMENT_TIMEOUT_MS=str(STATEMENT_TIMEOUT_MS),
        DEFAULT_RATE_LIMIT="100000000",
        LOG_LEVEL="ERROR",  # nobody reads the server's output while it runs: keep it short
    )


def _cached_book(server: ServerProcess) -> str:
    """The path of a book whose anonymous read is in the cache."""
    created = requests.post(
        f"{server.url}/api/v1/books",
        json={"title": "Dune", "author": "Frank Herbert"},
        headers={"X-API-KEY": server.admin_key},
        timeout=5,
    )
    assert created.status_code == 201
    path = f"/api/v1/books/{created.json()['id']}"
    for _ in range(5):
        if requests.get(f"{server.url}{path}", timeout=5).headers.get("X-Cache") == "HIT":
            return path
    raise AssertionError("the book's read did not reach the cache")


def _load(server: ServerProcess, *, readiness: bool = False) -> Load:
    """Liveness, a cache hit, and more clients that need the database than a worker has
    threads. Writes go to templates, so that no write clears the cached book."""
    cached = _cached_book(server)
    key = {"X-API-KEY": server.admin_key}
    url = server.url
    load = Load()
    load.add("health", lambda s: s.get(f"{url}/health", timeout=15), clients=2, pause=PAUSE)
    load.add("cache hit", lambda s: s.get(f"{url}{cached}", timeout=15), clients=2, pause=PAUSE)
    load.add(
        "read",  # a new filter every time: never cached
        lambda s: s.get(f"{url}/api/v1/books?q={uuid.uuid4().hex}", timeout=15),
        clients=6,
        pause=PAUSE,
    )
    load.add(
        "keyed read",
        lambda s: s.get(f"{url}/api/v1/templates?q={uuid.uuid4().hex}", headers=key, timeout=15),
        clients=2,
        pause=PAUSE,
    )
    load.add(
        "write",
        lambda s: s.post(
            f"{url}/api/v1/templates",
            json={"name": uuid.uuid4().hex, "content": "Hello {{ name }}"},
            headers=key,
            timeout=15,
        ),
        clients=3,
        pause=PAUSE,
    )
    if readiness:
        load.add("readiness", lambda s: s.get(f"{url}/readiness", timeout=15), pause=PAUSE)
    return load


def _report(fault: str, outcome: Outcome) -> None:
    outcome.summary(fault)
    for kind in sorted({s.kind for s in outcome.samples}):
        print(f"  {summary(kind, outcome.of(kind))}")


def _assert_the_outage_was_contained(outcome: Outcome, start: float, end: float) -> None:
    for kind in ("health", "cache hit"):
        samples = outcome.of(kind, start, end)
        assert samples, kind
        assert {s.status for s in samples} == {200}, kind
        assert p99(samples) < FAST, f"{kind}: p99 {p99(samples):.3f} s"
    refused = [s for k in DATABASE_KINDS for s in outcome.of(k, start, end) if s.status == 503]
    assert refused, "the database was down, yet no request was refused"
    for kind in DATABASE_KINDS:
        for sample in outcome.of(kind):
            assert sample.status in (200, 201, 503), sample
            assert sample.seconds < DEADLINE, sample
            if sample.status == 503:
                assert sample.problem, sample
                assert sample.retry_after, sample


def _assert_service_is_back(outcome: Outcome, since: float) -> None:
    for kind in DATABASE_KINDS:
        samples = outcome.of(kind, since + RECOVERY)
        assert samples, kind
        assert {s.status for s in samples} <= {200, 201}, (kind, samples)


FAULTS = {  # how to take the database away, and how to give it back
    "frozen": (PrivatePostgres.freeze, PrivatePostgres.thaw),
    "stopped": (PrivatePostgres.stop, PrivatePostgres.start),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_a_database_frozen_or_stopped_holds_no_worker(
    server: ServerProcess, postgres: PrivatePostgres, fault: str
) -> None:
    take_away, give_back = FAULTS[fault]
    with _load(server) as outcome:
        time.sleep(2)
        gone = time.monotonic()
        take_away(postgres)
        time.sleep(15)
        give_back(postgres)
        back = time.monotonic()
        time.sleep(RECOVERY + 2)
    _report(f"database {fault} 15 s", outcome)
    _assert_the_outage_was_contained(outcome, gone, back)
    _assert_service_is_back(outcome, back)


def test_connections_ended_by_the_database_fail_no_read(
    server: ServerProcess, postgres: PrivatePostgres
) -> None:
    with _load(server, readiness=True) as outcome:
        for _ in range(5):
            time.sleep(1.5)
            assert postgres.terminate_connections() >= 1
        time.sleep(1)
    _report("connections ended 5 times", outcome)
    for kind in ("health", "cache hit", "read", "keyed read", "readiness"):
        statuses = {s.status for s in outcome.of(kind)}
        assert statuses == {200}, (kind, statuses)
    for sample in outcome.of("write"):
        assert sample.status in (201, 503), sample
        if sample.status == 503:
            assert sample.problem, sample
            assert sample.retry_after, sample
