"""Response caching across workers, and the cache store when Redis fails or entries age.

Hits, misses and invalidation within one app, for every resource, are tests/contract/.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import redis
import requests

from shelf.core.cache_store import ResponseCache
from shelf.core.redis import RedisBackoff
from tests.support.clock import FakeClock
from tests.support.private_redis import PrivateRedis
from tests.support.resources import BOOKS
from tests.support.servers import ServerProcess


@pytest.mark.server
def test_a_write_on_one_server_invalidates_the_other(
    start_server: Callable[..., ServerProcess], redis_url: str, redis_prefix: str
) -> None:
    shared = {"REDIS_URL": redis_url, "REDIS_KEY_PREFIX": redis_prefix}
    first = start_server(**shared)
    second = start_server(**shared, DATABASE_URL=first.database_url)
    headers = {"X-API-KEY": first.admin_key}
    created = requests.post(
        f"{first.url}{BOOKS}", json={"title": "Dune", "author": "F. H."}, headers=headers, timeout=5
    ).json()
    item = f"{BOOKS}/{created['id']}"
    for path in (BOOKS, item):
        assert requests.get(f"{first.url}{path}", timeout=5).headers["X-Cache"] == "MISS"
        assert requests.get(f"{first.url}{path}", timeout=5).headers["X-Cache"] == "HIT"
        assert requests.get(f"{second.url}{path}", timeout=5).headers["X-Cache"] == "HIT"
    changed = requests.patch(f"{second.url}{item}", json={"copies": 9}, headers=headers, timeout=5)
    assert changed.status_code == 200
    listed = requests.get(f"{first.url}{BOOKS}", timeout=5)
    assert listed.headers["X-Cache"] == "MISS"
    assert listed.json()["items"][0]["copies"] == 9
    fetched = requests.get(f"{first.url}{item}", timeout=5)
    assert fetched.headers["X-Cache"] == "MISS"
    assert fetched.json()["copies"] == 9


TIMEOUT = 0.3
BACKOFF = 5.0


@pytest.fixture
def backoff_clock() -> FakeClock:
    """The clock of `proxied_cache`'s backoff."""
    return FakeClock()


@pytest.fixture
def proxied_cache(private_redis: PrivateRedis, backoff_clock: FakeClock) -> Iterator[ResponseCache]:
    """A Redis cache behind the private server's proxy, backing off after a failure until
    `backoff_clock` is advanced by BACKOFF."""
    client = redis.Redis.from_url(private_redis.proxy_url, socket_timeout=TIMEOUT)
    backoff = RedisBackoff(seconds=BACKOFF, clock=backoff_clock)
    yield ResponseCache(client, prefix="t:", ttl=60, max_bytes=2**20, backoff=backoff)
    client.close()


def cache_entry(cache: ResponseCache, resource: str, value: bytes) -> None:
    _, generation = cache.lookup(resource, "field")
    cache.store(resource, "field", value, generation)
    assert cache.lookup(resource, "field")[0] == value


def test_a_failed_invalidation_is_retried_before_the_cache_is_used(
    proxied_cache: ResponseCache, private_redis: PrivateRedis, backoff_clock: FakeClock
) -> None:
    cache_entry(proxied_cache, "books", b"old")
    private_redis.silence()
    proxied_cache.invalidate("books")  # times out: owed
    private_redis.unsilence()
    assert proxied_cache.lookup("books", "field") == (None, None)  # backing off
    backoff_clock.advance(BACKOFF - 0.001)
    assert proxied_cache.lookup("books", "field") == (None, None)  # still backing off
    backoff_clock.advance(0.001)
    assert proxied_cache.lookup("books", "field") == (None, "1")


def test_invalidating_while_backing_off_does_not_wait_for_redis(
    proxied_cache: ResponseCache, private_redis: PrivateRedis, backoff_clock: FakeClock
) -> None:
    cache_entry(proxied_cache, "books", b"old")
    cache_entry(proxied_cache, "templates", b"old")
    private_redis.silence()
    assert proxied_cache.lookup("authors", "field") == (None, None)  # times out: backing off
    started = time.monotonic()
    proxied_cache.invalidate("books")
    proxied_cache.invalidate("templates")
    assert time.monotonic() - started < TIMEOUT / 2
    private_redis.unsilence()
    backoff_clock.advance(BACKOFF)
    assert proxied_cache.lookup("books", "field") == (None, "1")
    assert proxied_cache.lookup("templates", "field") == (None, "1")


def test_an_entry_older_than_the_ttl_is_a_miss(redis_url: str, redis_prefix: str) -> None:
    """A lost invalidation leaves an entry behind for CACHE_TTL at most, however busy."""
    clock = FakeClock()
    client = redis.Redis.from_url(redis_url, socket_timeout=1)
    cache = ResponseCache(
        client, prefix=redis_prefix, ttl=60, max_bytes=2**20, backoff=RedisBackoff(), clock=clock
    )
    headers = [("ETag", '"v1"'), ("Link", '<?page=2&per_page=20>; rel="next"')]
    cache_entry(cache, "books", cache.pack(headers, b'{"copies": 1}'))
    clock.advance(60)
    assert cache.unpack(cache.lookup("books", "field")[0]) == (headers, b'{"copies": 1}')
    clock.advance(1)
    assert cache.unpack(cache.lookup("books", "field")[0]) is None
    assert cache.unpack(b'"etag"\n{"layout": "of an older release"}') is None
    assert cache.unpack(b'%d\n"etag"\n{"layout": "of 2026-11"}' % clock()) is None
    client.close()


def test_expired_entries_are_removed_from_redis(redis_url: str, redis_prefix: str) -> None:
    """Not only ignored: a store clears what has expired, and an idle resource expires whole."""
    clock = FakeClock()
    client = redis.Redis.from_url(redis_url, socket_timeout=1)
    cache = ResponseCache(
        client, prefix=redis_prefix, ttl=60, max_bytes=2**20, backoff=RedisBackoff(), clock=clock
    )
    _, entries_key = cache.keys("books")
    for field in ("old", "older"):
        _, generation = cache.lookup("books", field)
        cache.store("books", field, cache.pack([("ETag", '"v1"')], b"{}"), generation)
    clock.advance(61)
    _, generation = cache.lookup("books", "new")
    cache.store("books", "new", cache.pack([("ETag", '"v2"')], b"{}"), generation)
    assert not client.hexists(entries_key, "old")
    assert not client.hexists(entries_key, "older")
    assert client.hexists(entries_key, "new")
    assert 0 < client.ttl(entries_key) <= 60
    client.close()


def test_the_memory_cache_keeps_within_its_budget_too() -> None:
    """Without Redis (one worker), the oldest entries make way just the same."""
    cache = ResponseCache(None, prefix="t:", ttl=60, max_bytes=64 * 1024, backoff=RedisBackoff())
    entry = cache.pack([("ETag", '"v1"')], b"x" * 1000)
    for page in range(200):
        _, generation = cache.lookup("books", f"anon|/books?page={page}")
        cache.store("books", f"anon|/books?page={page}", entry, generation)
    kept = [page for page in range(200) if cache.lookup("books", f"anon|/books?page={page}")[0]]
    assert len(kept) * len(entry) <= 64 * 1024
    assert kept[-1] == 199
