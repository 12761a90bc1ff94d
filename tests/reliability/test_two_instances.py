"""Two server processes sharing one PostgreSQL and one Redis behave as one service.

Rate limits are counted once across both, a write on one clears the cache the other serves,
and a key revoked with the CLI is refused by both within the key cache's second.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from shelf.auth.api_keys import KEY_CACHE_SECONDS
from tests.support.factories import key_id, migrate, shelf_cli
from tests.support.private_postgres import private_postgres
from tests.support.private_redis import PrivateRedis
from tests.support.servers import ServerProcess, Servers

LIST_LIMIT = 20  # per hour, so a window never ends during the test
BOOKS = "/api/v1/books"


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, ...]]:
    """Two `shelf serve` processes (granian, 2 workers each) on one PostgreSQL and one Redis."""
    folder = tmp_path_factory.mktemp("two-instances")
    redis_server = PrivateRedis(folder)
    redis_server.start()
    servers = Servers(folder)
    try:
        with private_postgres() as postgres:
            migrate(postgres.url)
            env = {
                "DATABASE_URL": postgres.url,
                "REDIS_URL": redis_server.url,
                "ENDPOINT_RATE_LIMITS": f"books.list_books={LIST_LIMIT}/hour",
            }
            yield servers.start(**env), servers.start(**env)
            servers.kill_all()
    finally:
        servers.kill_all()
        redis_server.close()


def test_rate_limits_are_counted_once_across_both(instances: tuple[ServerProcess, ...]) -> None:
    first, second = instances
    answers = [
        requests.get(f"{server.url}{BOOKS}?page={n + 1}", timeout=5)
        for n in range(LIST_LIMIT)
        for server in [(first, second)[n % 2]]
    ]
    statuses = [answer.status_code for answer in answers]
    print(f"\n{LIST_LIMIT} list requests spread over two instances: {statuses}")
    assert statuses == [200] * LIST_LIMIT
    assert answers[-1].headers["RateLimit-Remaining"] == "0"
    for server in instances:  # the limit is spent on both, whichever counted each request
        refused = requests.get(f"{server.url}{BOOKS}?page=99", timeout=5)
        assert refused.status_code == 429
        assert "Retry-After" in refused.headers


def test_a_write_on_one_clears_the_cache_the_other_serves(
    instances: tuple[ServerProcess, ...],
) -> None:
    first, second = instances
    admin = {"X-API-KEY": first.admin_key}
    created = requests.post(
        f"{first.url}{BOOKS}", json={"title": "Old", "author": "A"}, headers=admin, timeout=5
    )
    item = f"{BOOKS}/{created.json()['id']}"
    assert requests.get(f"{second.url}{item}", timeout=5).headers["X-Cache"] == "MISS"
    cached = requests.get(f"{second.url}{item}", timeout=5)
    assert cached.headers["X-Cache"] == "HIT"
    changed = requests.patch(f"{first.url}{item}", json={"title": "New"}, headers=admin, timeout=5)
    assert changed.status_code == 200
    fresh = requests.get(f"{second.url}{item}", timeout=5)
    print(f"\nafter a write on one instance the other answers {fresh.headers['X-Cache']}")
    assert fresh.json()["title"] == "New"
    assert fresh.headers["ETag"] == changed.headers["ETag"] != cached.headers["ETag"]


def test_a_key_revoked_with_the_cli_is_refused_by_both_within_a_second(
    instances: tuple[ServerProcess, ...],
) -> None:
    database_url = instances[0].database_url
    secret = shelf_cli(
        ["apikeys", "create", "--owner", "two-instances", "--scopes", "templates:read"],
        database_url,
    ).splitlines()[0]

    def statuses() -> set[int]:
        # Fresh connections, so the requests spread over both instances' workers.
        return {
            requests.get(
                f"{server.url}/api/v1/templates", headers={"X-API-KEY": secret}, timeout=5
            ).status_code
            for server in instances
            for _ in range(10)
        }

    assert statuses() == {200}  # every worker of both has checked, and remembers, the key
    listing = shelf_cli(["apikeys", "list"], database_url)
    shelf_cli(["apikeys", "revoke", key_id(listing, "two-instances")], database_url)
    revoked = time.monotonic()
    while True:  # a round begun a second after the revocation finds no worker accepting it
        asked = time.monotonic()
        if (seen := statuses()) == {401}:
            break
        assert asked - revoked < KEY_CACHE_SECONDS + 0.1, seen
    print(f"\nthe revoked key was refused by both instances {asked - revoked:.2f} s after")
