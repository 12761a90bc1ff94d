"""Rate limits per principal, shared by every worker through Redis.

The RateLimit headers and the 429 on every resource are tests/contract/.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from flask.testing import FlaskClient
from limits import parse as parse_limit
from pydantic import ValidationError

from shelf.app import create_app
from shelf.core.ratelimit import RateLimiter
from shelf.core.redis import RedisBackoff
from tests.support.clock import FakeClock
from tests.support.factories import make_settings
from tests.support.resources import BOOKS
from tests.support.servers import ServerProcess


@pytest.fixture
def limited(sqlite_url: str) -> FlaskClient:
    settings = make_settings(database_url=sqlite_url, default_rate_limit=3)
    return create_app(settings).test_client()


def test_each_principal_has_its_own_budget(limited: FlaskClient) -> None:
    for _ in range(3):
        limited.get(BOOKS)
    assert limited.get(BOOKS).status_code == 429
    other = limited.get(BOOKS, environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 200


def test_an_endpoint_can_have_a_stricter_limit(sqlite_url: str) -> None:
    settings = make_settings(
        database_url=sqlite_url,
        default_rate_limit=100,
        endpoint_rate_limits="books.get_book=2/minute",
    )
    client = create_app(settings).test_client()
    statuses = [client.get(f"{BOOKS}/1").status_code for _ in range(3)]
    assert statuses == [404, 404, 429]
    assert client.get(BOOKS).status_code == 200


def test_an_unknown_endpoint_limit_stops_start_up() -> None:
    with pytest.raises(ValueError, match=r"books\.nothing"):
        create_app(make_settings(endpoint_rate_limits="books.nothing=1/minute"))


def test_a_malformed_endpoint_limit_is_a_configuration_error() -> None:
    with pytest.raises(ValidationError, match="endpoint_rate_limits"):
        make_settings(endpoint_rate_limits="books.get_book=often")


def test_forwarded_for_counts_only_behind_trusted_proxies(sqlite_url: str) -> None:
    def statuses(trusted: int) -> list[int]:
        settings = make_settings(
            database_url=sqlite_url, default_rate_limit=1, trusted_proxies=trusted
        )
        client = create_app(settings).test_client()
        return [
            client.get(BOOKS, headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
            for n in (1, 2)
        ]

    assert statuses(trusted=1) == [200, 200]  # two clients behind the proxy
    assert statuses(trusted=0) == [200, 429]  # one unproxied caller spoofing the header


@pytest.mark.parametrize(
    "path", ["/", "/health", "/readiness", "/metrics", "/docs", "/openapi.json"]
)
def test_operations_and_docs_are_exempt(limited: FlaskClient, path: str) -> None:
    for _ in range(5):
        response = limited.get(path)
        assert response.status_code != 429
        assert "RateLimit-Limit" not in response.headers


def memory_limiter(clock: FakeClock, windows: int = 1000) -> RateLimiter:
    """A limiter counting in process: 5 a minute, and 2 a second on `books.get_book`."""
    return RateLimiter(
        None,
        prefix="t:",
        default=parse_limit("5/minute"),
        per_endpoint={"books.get_book": parse_limit("2/second")},
        backoff=RedisBackoff(),
        clock=clock,
        memory_windows=windows,
    )


def test_in_process_counts_forget_ended_windows() -> None:
    clock = FakeClock(0.0)
    limiter = memory_limiter(clock)
    for n in range(200):
        limiter.hit(f"ip:10.0.0.{n}", "books.get_book")
    assert len(limiter._memory) == 400
    clock.advance(59)  # the one-second windows have ended, the one-minute ones still count
    windows, _ = limiter.hit("ip:10.0.0.1", "books.get_book")
    assert [window.count for window in windows] == [2, 1]
    clock.advance(2)  # every window begun at 0 has ended
    windows, _ = limiter.hit("ip:10.0.0.2", None)
    assert [window.count for window in windows] == [1]
    assert len(limiter._memory) == 3  # 10.0.0.1's two windows (begun or counted at 59) and this


def test_in_process_counts_are_bounded_in_number() -> None:
    limiter = memory_limiter(FakeClock(), windows=100)
    for n in range(1000):
        limiter.hit(f"ip:10.0.{n // 256}.{n % 256}", None)
    assert len(limiter._memory) == 100
    windows, _ = limiter.hit("ip:10.0.3.231", None)  # the latest caller is still counted
    assert windows[0].count == 2


@pytest.mark.server
def test_workers_share_the_limit_through_redis(
    start_server: Callable[..., ServerProcess], redis_url: str, redis_prefix: str
) -> None:
    server = start_server(
        WEB_CONCURRENCY="4",
        REDIS_URL=redis_url,
        REDIS_KEY_PREFIX=redis_prefix,
        DEFAULT_RATE_LIMIT="10",
    )
    session = requests.Session()
    session.headers["X-API-KEY"] = server.admin_key
    statuses = []
    retry_after = []
    for _ in range(15):
        # A new connection each time, so the requests spread over the workers.
        response = requests.get(f"{server.url}{BOOKS}", headers=session.headers, timeout=5)
        statuses.append(response.status_code)
        if response.status_code == 429:
            retry_after.append(int(response.headers["Retry-After"]))
    assert statuses.count(200) == 10
    assert statuses.count(429) == 5
    assert all(seconds > 0 for seconds in retry_after)
