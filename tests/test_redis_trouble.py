"""When Redis stops or hangs, requests still succeed in bounded time and readiness says so
(degraded, still in rotation).

The in-process tests end the Redis backoff by moving its clock, never by waiting it out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from flask.testing import FlaskClient

from shelf.app import create_app
from shelf.auth.api_keys import clear_key_cache
from shelf.core.redis import RedisBackoff
from shelf.extensions import db
from tests.support.clock import FakeClock
from tests.support.factories import make_key, make_settings, migrate
from tests.support.private_redis import PrivateRedis
from tests.support.resources import BOOKS, TEMPLATES, create_book
from tests.support.servers import ServerProcess

SOCKET_TIMEOUT = 1.0
# A request may wait for one Redis timeout, never two: the margin is for the request itself.
MARGIN = 0.6
BACKOFF = RedisBackoff().seconds


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
        assert seconds < SOCKET_TIMEOUT + MARGIN, seconds


# How trouble starts and ends. Frozen: the kernel still accepts connections for the stopped
# process. Silent: the proxy accepts them and passes nothing on, as a network dropping packets.
TROUBLES = [
    pytest.param(PrivateRedis.stop, PrivateRedis.start, id="stopped"),
    pytest.param(PrivateRedis.freeze, PrivateRedis.thaw, id="frozen"),
    pytest.param(PrivateRedis.silence, PrivateRedis.unsilence, id="silent"),
]


@pytest.mark.server
@pytest.mark.parametrize(("trouble", "mend"), TROUBLES)
def test_requests_survive_redis_trouble(
    start_server: Callable[..., ServerProcess],
    private_redis: PrivateRedis,
    trouble: Callable[[PrivateRedis], None],
    mend: Callable[[PrivateRedis], None],
) -> None:
    url = private_redis.proxy_url if trouble is PrivateRedis.silence else private_redis.url
    server = start_server(
        REDIS_URL=url, REDIS_SOCKET_TIMEOUT=str(SOCKET_TIMEOUT), WEB_CONCURRENCY="2"
    )
    assert_healthy_answers(exercise(server, 0))
    assert requests.get(f"{server.url}/readiness", timeout=5).status_code == 200

    trouble(private_redis)
    for round_ in range(1, 4):
        assert_healthy_answers(exercise(server, round_))
    readiness = requests.get(f"{server.url}/readiness", timeout=5)
    assert readiness.status_code == 200  # a shared outage keeps the instance in rotation
    assert readiness.json()["status"] == "degraded"
    assert readiness.json()["checks"]["redis"]["status"] == "failing"
    unknown = requests.get(
        f"{server.url}/api/v1/books", headers={"X-API-KEY": "shelf_unknown"}, timeout=5
    )
    assert unknown.status_code == 401  # no invalid credential is accepted while Redis is down
    denied = requests.post(
        f"{server.url}{BOOKS}",
        json={"title": "x", "author": "y"},
        headers={"X-API-KEY": "shelf_unknown"},
        timeout=5,
    )
    assert denied.status_code == 401

    mend(private_redis)
    deadline = time.monotonic() + 15
    while requests.get(f"{server.url}/readiness", timeout=5).json()["status"] != "ready":
        assert time.monotonic() < deadline, "readiness did not recover with Redis"
        time.sleep(0.2)
    assert_healthy_answers(exercise(server, 9))


@pytest.fixture
def backoff_clock() -> FakeClock:
    """The clock of the Redis backoff of `proxied_client`'s app: it moves when told to."""
    return FakeClock()


@pytest.fixture
def proxied_client(
    tmp_path: Path, private_redis: PrivateRedis, backoff_clock: FakeClock
) -> Iterator[FlaskClient]:
    """An admin's client of an app whose Redis is behind the private server's proxy."""
    url = f"sqlite:///{tmp_path / 'shelf.db'}"
    migrate(url)
    settings = make_settings(
        database_url=url, redis_url=private_redis.proxy_url, redis_socket_timeout=SOCKET_TIMEOUT
    )
    app = create_app(settings)
    # One backoff is shared by the limiter, the cache and invalidation: its clock is theirs.
    app.extensions["shelf.redis_backoff"].clock = backoff_clock
    client = app.test_client()
    client.environ_base["HTTP_X_API_KEY"] = make_key(url, "admin")
    yield client
    clear_key_cache()
    with app.app_context():
        db.dispose()


def timed(send: Callable[[], object]) -> float:
    started = time.monotonic()
    send()
    return time.monotonic() - started


def test_after_a_redis_failure_no_redis_user_waits_again(
    proxied_client: FlaskClient, private_redis: PrivateRedis
) -> None:
    item = f"{BOOKS}/{create_book(proxied_client, copies=1)['id']}"
    assert proxied_client.get(item).headers["X-Cache"] == "MISS"
    private_redis.silence()
    # The limiter's call times out; the cache lookup then skips Redis instead of timing out too.
    assert SOCKET_TIMEOUT <= timed(lambda: proxied_client.get(item)) < SOCKET_TIMEOUT + MARGIN
    # Neither counting nor invalidating waits again while backing off.
    assert timed(lambda: proxied_client.patch(item, json={"copies": 2})) < MARGIN
    assert timed(lambda: create_book(proxied_client)) < MARGIN
    started = time.monotonic()
    fresh = proxied_client.get(item)
    assert time.monotonic() - started < MARGIN
    assert fresh.headers["X-Cache"] == "MISS"
    assert fresh.get_json()["copies"] == 2


def test_a_write_redis_did_not_hear_of_is_not_hidden_by_the_cache(
    proxied_client: FlaskClient, private_redis: PrivateRedis, backoff_clock: FakeClock
) -> None:
    created = proxied_client.post(TEMPLATES, json={"name": "Welcome", "content": "old"})
    item = f"{TEMPLATES}/{created.get_json()['templateid']}"
    assert proxied_client.get(item).headers["X-Cache"] == "MISS"
    cached = proxied_client.get(item)
    assert cached.headers["X-Cache"] == "HIT"

    private_redis.silence()
    changed = proxied_client.patch(item, json={"content": "new"})  # its invalidation is owed
    assert changed.status_code == 200
    private_redis.unsilence()
    backoff_clock.advance(BACKOFF)  # the backoff is over: the cache is used again

    fresh = proxied_client.get(item)
    assert fresh.headers["X-Cache"] == "MISS"
    assert fresh.get_json()["content"] == "new"
    assert fresh.headers["ETag"] == changed.headers["ETag"] != cached.headers["ETag"]
    assert proxied_client.get(item).headers["X-Cache"] == "HIT"  # Redis is in use again
