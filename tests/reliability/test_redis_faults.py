"""Redis stopped, frozen or paused under load: no 5xx, and no invalid credential accepted.

API keys live in the database, so an unknown key is 401 and a revoked one is refused whatever
Redis does; the cache and the limiter give way for a few seconds (README, "When Redis has
trouble"). Readiness is left out: what it answers during an outage is its own decision.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import redis
import requests

from shelf.auth.api_keys import KEY_CACHE_SECONDS
from tests.support.factories import key_id, shelf_cli
from tests.support.load import steady_load
from tests.support.private_redis import PrivateRedis
from tests.support.servers import ServerProcess

WINDOW = 2.0  # seconds of trouble: longer than the socket timeout, inside one backoff
BOOKS = "/api/v1/books"
TEMPLATES = "/api/v1/templates"


@contextmanager
def stopped(server: PrivateRedis) -> Iterator[None]:
    server.stop()
    yield
    server.start()


@contextmanager
def frozen(server: PrivateRedis) -> Iterator[None]:
    server.freeze()  # SIGSTOP: connections are accepted and never answered
    yield
    server.thaw()


@contextmanager
def sleeping(server: PrivateRedis) -> Iterator[None]:
    client = redis.Redis.from_url(server.url, socket_timeout=WINDOW + 5)
    command = threading.Thread(target=client.execute_command, args=("DEBUG", "SLEEP", WINDOW))
    command.start()  # the server runs nothing else until it wakes
    yield
    command.join()
    client.close()


@contextmanager
def paused(server: PrivateRedis) -> Iterator[None]:
    client = redis.Redis.from_url(server.url, socket_timeout=1)
    # Every client's commands wait until the pause ends by itself (UNPAUSE would wait too).
    client.execute_command("CLIENT", "PAUSE", int(WINDOW * 1000), "ALL")
    client.close()
    yield


TROUBLES = {"stopped": stopped, "frozen": frozen, "sleeping": sleeping, "paused": paused}


def revoked_key(server: ServerProcess) -> str:
    """A key that worked, was revoked with the CLI, and is now refused by every worker."""
    secret = shelf_cli(
        ["apikeys", "create", "--owner", "revoked", "--scopes", "templates:read"],
        server.database_url,
    ).splitlines()[0]
    used = requests.get(f"{server.url}{TEMPLATES}", headers={"X-API-KEY": secret}, timeout=5)
    assert used.status_code == 200
    listing = shelf_cli(["apikeys", "list"], server.database_url)
    shelf_cli(["apikeys", "revoke", key_id(listing, "revoked")], server.database_url)
    time.sleep(KEY_CACHE_SECONDS + 0.1)  # every worker's remembered check has expired
    return secret


def senders(server: ServerProcess) -> dict[str, Callable[[requests.Session], requests.Response]]:
    """Anonymous and keyed reads and writes, and the two credentials that must never pass."""
    admin = {"X-API-KEY": server.admin_key}
    book = requests.post(
        f"{server.url}{BOOKS}", json={"title": "Dune", "author": "F"}, headers=admin, timeout=5
    ).json()
    template = requests.post(
        f"{server.url}{TEMPLATES}",
        json={"name": "Welcome", "content": "Hi"},
        headers=admin,
        timeout=5,
    ).json()
    revoked = revoked_key(server)
    url = server.url
    return {
        "anonymous list": lambda s: s.get(f"{url}{BOOKS}?sort=title", timeout=10),
        "anonymous read": lambda s: s.get(f"{url}{BOOKS}/{book['id']}", timeout=10),
        "keyed read": lambda s: s.get(
            f"{url}{TEMPLATES}/{template['templateid']}", headers=admin, timeout=10
        ),
        "keyed write": lambda s: s.post(
            f"{url}{BOOKS}", json={"title": "More", "author": "A"}, headers=admin, timeout=10
        ),
        "unknown key": lambda s: s.get(
            f"{url}{BOOKS}", headers={"X-API-KEY": "shelf_unknown"}, timeout=10
        ),
        "revoked key": lambda s: s.post(
            f"{url}{TEMPLATES}", json={"name": "x"}, headers={"X-API-KEY": revoked}, timeout=10
        ),
    }


@pytest.mark.parametrize("trouble", TROUBLES)
def test_redis_trouble_under_load_gives_no_5xx_and_accepts_no_invalid_key(
    production_server: Callable[..., ServerProcess], private_redis: PrivateRedis, trouble: str
) -> None:
    server = production_server()
    with steady_load(senders(server)) as outcome:
        time.sleep(0.5)
        with TROUBLES[trouble](private_redis):
            time.sleep(WINDOW)
        time.sleep(1.0)  # and after it mends
    outcome.summary(f"Redis {trouble} for {WINDOW} s")
    assert outcome.server_errors == 0
    assert outcome.statuses("unknown key") == {401}
    assert outcome.statuses("revoked key") == {401}
    for name in ("anonymous list", "anonymous read", "keyed read"):
        assert outcome.statuses(name) == {200}, name
    assert outcome.statuses("keyed write") == {201}
