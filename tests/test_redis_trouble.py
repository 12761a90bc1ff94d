"""When Redis stops or hangs, requests still succeed in bounded time and readiness says so."""

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
from tests.books.test_routes import BOOKS, create
from tests.conftest import PrivateRedis, ServerProcess, make_key, make_settings, migrate

SOCKET_TIMEOUT = 1.0
# A request may wait for one Redis timeout, never two: the margin is for the request itself.
MARGIN = 0.6
BACKOFF = RedisBackoff().seconds
TEMPLATES = "/api/v1/templates"


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

    mend(private_redis)
    deadline = time.monotonic() + 15
    while requests.get(f"{server.url}/readiness", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "readiness did not recover with Redis"
        time.sleep(0.2)
    assert_healthy_answers(exercise(server, 9))


@pytest.mark.server
def test_a_write_redis_did_not_hear_of_is_not_hidden_by_the_cache(
    start_server: Callable[..., ServerProcess], private_redis: PrivateRedis
) -> None:
    # One worker: the one that owes the invalidation is the one asked next.
    server = start_server(
        REDIS_URL=private_redis.proxy_url,
        REDIS_SOCKET_TIMEOUT=str(SOCKET_TIMEOUT),
        WEB_CONCURRENCY="1",
    )
    headers = {"X-API-KEY": server.admin_key}
    created = requests.post(
        f"{server.url}{TEMPLATES}",
        json={"name": "Welcome", "content": "old"},
        headers=headers,
        timeout=10,
    ).json()
    item = f"{server.url}{TEMPLATES}/{created['templateid']}"
    assert requests.get(item, headers=headers, timeout=10).headers["X-Cache"] == "MISS"
    cached = requests.get(item, headers=headers, timeout=10)
    assert cached.headers["X-Cache"] == "HIT"

    private_redis.silence()
    changed = requests.patch(item, json={"content": "new"}, headers=headers, timeout=10)
    assert changed.status_code == 200
    private_redis.unsilence()
    time.sleep(BACKOFF + 0.5)

    fresh = requests.get(item, headers=headers, timeout=10)
    assert fresh.headers["X-Cache"] == "MISS"
    assert fresh.json()["content"] == "new"
    assert fresh.headers["ETag"] == changed.headers["ETag"] != cached.headers["ETag"]


@pytest.fixture
def proxied_client(tmp_path: Path, private_redis: PrivateRedis) -> Iterator[FlaskClient]:
    """An admin's client of an app whose Redis is behind the private server's proxy."""
    url = f"sqlite:///{tmp_path / 'shelf.db'}"
    migrate(url)
    settings = make_settings(
        database_url=url, redis_url=private_redis.proxy_url, redis_socket_timeout=SOCKET_TIMEOUT
    )
    app = create_app(settings)
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
    item = f"{BOOKS}/{create(proxied_client, copies=1)['id']}"
    assert proxied_client.get(item).headers["X-Cache"] == "MISS"
    private_redis.silence()
    # The limiter's call times out; the cache lookup then skips Redis instead of timing out too.
    assert SOCKET_TIMEOUT <= timed(lambda: proxied_client.get(item)) < SOCKET_TIMEOUT + MARGIN
    # Neither counting nor invalidating waits again while backing off.
    assert timed(lambda: proxied_client.patch(item, json={"copies": 2})) < MARGIN
    assert timed(lambda: create(proxied_client)) < MARGIN
    started = time.monotonic()
    fresh = proxied_client.get(item)
    assert time.monotonic() - started < MARGIN
    assert fresh.headers["X-Cache"] == "MISS"
    assert fresh.get_json()["copies"] == 2
