"""When Redis stops or hangs, requests still succeed in bounded time and readiness says so."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import requests

from tests.books.test_routes import BOOKS
from tests.conftest import PrivateRedis, ServerProcess

pytestmark = pytest.mark.server
SOCKET_TIMEOUT = 0.3
# One Redis timeout for the limiter and one for the cache, plus the request itself; generous,
# because the point is that nothing waits on a dead Redis for long, not how fast a request is.
MARGIN = 3.0


def exercise(server: ServerProcess, round_: int) -> list[tuple[int, float]]:
    """A write and reads of the list and the item; each status with its duration."""
    headers = {"X-API-KEY": server.admin_key}
    results = []
    started = time.monotonic()
    created = requests.post(
        f"{server.url}{BOOKS}",
        json={"title": f"Book {round_}", "author": "A"},
        headers=headers,
        timeout=10,
    )
    results.append((created.status_code, time.monotonic() - started))
    for path in (BOOKS, f"{BOOKS}/{created.json()['id']}", BOOKS):
        started = time.monotonic()
        response = requests.get(f"{server.url}{path}", headers=headers, timeout=10)
        results.append((response.status_code, time.monotonic() - started))
    return results


def assert_healthy_answers(results: list[tuple[int, float]]) -> None:
    for status, seconds in results:
        assert 200 <= status < 300, status
        assert seconds < SOCKET_TIMEOUT * 2 + MARGIN, seconds


@pytest.mark.parametrize("trouble", ["stopped", "hanging"])
def test_requests_survive_redis_trouble(
    start_server: Callable[..., ServerProcess], private_redis: PrivateRedis, trouble: str
) -> None:
    server = start_server(
        REDIS_URL=private_redis.url, REDIS_SOCKET_TIMEOUT=str(SOCKET_TIMEOUT), WEB_CONCURRENCY="2"
    )
    assert_healthy_answers(exercise(server, 0))
    assert requests.get(f"{server.url}/readiness", timeout=5).status_code == 200

    if trouble == "stopped":
        private_redis.stop()
    else:
        private_redis.freeze()
    for round_ in range(1, 4):
        assert_healthy_answers(exercise(server, round_))
    readiness = requests.get(f"{server.url}/readiness", timeout=5)
    assert readiness.status_code == 503
    assert [d["field"] for d in readiness.json()["details"]] == ["redis"]
    unknown = requests.get(
        f"{server.url}/api/v1/books", headers={"X-API-KEY": "shelf_unknown"}, timeout=5
    )
    assert unknown.status_code == 200  # reads are public; the bad key is simply not a principal
    denied = requests.post(
        f"{server.url}{BOOKS}",
        json={"title": "x", "author": "y"},
        headers={"X-API-KEY": "shelf_unknown"},
        timeout=5,
    )
    assert denied.status_code == 401

    if trouble == "stopped":
        private_redis.start()
    else:
        private_redis.thaw()
    deadline = time.monotonic() + 15
    while requests.get(f"{server.url}/readiness", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "readiness did not recover with Redis"
        time.sleep(0.2)
    assert_healthy_answers(exercise(server, 9))
