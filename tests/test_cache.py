"""Response caching of reads, invalidated by writes on every worker."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import redis
import requests
from flask.testing import FlaskClient

from shelf.core.cache_store import ResponseCache
from shelf.core.redis import RedisBackoff
from tests.books.test_routes import BOOKS, create
from tests.conftest import PrivateRedis, ServerProcess


def test_reads_miss_then_hit(client: FlaskClient) -> None:
    book = create(client)
    for path in (BOOKS, f"{BOOKS}/{book['id']}"):
        assert client.get(path).headers["X-Cache"] == "MISS"
        hit = client.get(path)
        assert hit.headers["X-Cache"] == "HIT"
        assert hit.headers["ETag"]


def test_the_query_is_normalised(client: FlaskClient) -> None:
    client.get(f"{BOOKS}?page=1&per_page=5")
    assert client.get(f"{BOOKS}?per_page=5&page=1").headers["X-Cache"] == "HIT"


def test_a_write_invalidates_list_and_item(client: FlaskClient) -> None:
    book = create(client, copies=1)
    item = f"{BOOKS}/{book['id']}"
    client.get(BOOKS)
    client.get(item)
    client.patch(item, json={"copies": 7})
    fresh_item = client.get(item)
    assert fresh_item.headers["X-Cache"] == "MISS"
    assert fresh_item.get_json()["copies"] == 7
    fresh_list = client.get(BOOKS)
    assert fresh_list.headers["X-Cache"] == "MISS"
    assert fresh_list.get_json()["items"][0]["copies"] == 7


def test_anonymous_and_authenticated_entries_are_apart(
    client: FlaskClient, anon: FlaskClient
) -> None:
    client.get(BOOKS)
    anonymous = anon.get(BOOKS)
    assert anonymous.headers["X-Cache"] == "MISS"
    assert anonymous.headers["Cache-Control"].startswith("public, max-age=")
    assert client.get(BOOKS).headers["Cache-Control"] == "no-store"


def test_a_cached_read_still_answers_if_none_match(anon: FlaskClient, client: FlaskClient) -> None:
    book = create(client)
    path = f"{BOOKS}/{book['id']}"
    etag = anon.get(path).headers["ETag"]
    response = anon.get(path, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.headers["X-Cache"] == "HIT"


@pytest.mark.server
def test_a_write_on_one_server_invalidates_the_other(
    start_server: Callable[..., ServerProcess], redis_url: str, redis_prefix: str, tmp_path: object
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


@pytest.fixture
def proxied_cache(private_redis: PrivateRedis) -> Iterator[ResponseCache]:
    """A Redis cache behind the private server's proxy, backing off briefly after a failure."""
    client = redis.Redis.from_url(private_redis.proxy_url, socket_timeout=TIMEOUT)
    yield ResponseCache(client, prefix="t:", ttl=60, backoff=RedisBackoff(seconds=TIMEOUT))
    client.close()


def cache_entry(cache: ResponseCache, resource: str, value: bytes) -> None:
    _, generation = cache.lookup(resource, "field")
    cache.store(resource, "field", value, generation)
    assert cache.lookup(resource, "field")[0] == value


def test_a_failed_invalidation_is_retried_before_the_cache_is_used(
    proxied_cache: ResponseCache, private_redis: PrivateRedis
) -> None:
    cache_entry(proxied_cache, "books", b"old")
    private_redis.silence()
    proxied_cache.invalidate("books")  # times out: owed
    private_redis.unsilence()
    assert proxied_cache.lookup("books", "field") == (None, None)  # backing off
    time.sleep(TIMEOUT)
    assert proxied_cache.lookup("books", "field") == (None, "1")


def test_invalidating_while_backing_off_does_not_wait_for_redis(
    proxied_cache: ResponseCache, private_redis: PrivateRedis
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
    time.sleep(TIMEOUT)
    assert proxied_cache.lookup("books", "field") == (None, "1")
    assert proxied_cache.lookup("templates", "field") == (None, "1")


def test_an_entry_older_than_the_ttl_is_a_miss(redis_url: str, redis_prefix: str) -> None:
    """A lost invalidation leaves an entry behind for CACHE_TTL at most, however busy."""
    now = [1_000_000.0]
    client = redis.Redis.from_url(redis_url, socket_timeout=1)
    cache = ResponseCache(
        client, prefix=redis_prefix, ttl=60, backoff=RedisBackoff(), clock=lambda: now[0]
    )
    cache_entry(cache, "books", cache.pack('"v1"', b'{"copies": 1}'))
    now[0] += 60
    assert cache.unpack(cache.lookup("books", "field")[0]) == ('"v1"', b'{"copies": 1}')
    now[0] += 1
    assert cache.unpack(cache.lookup("books", "field")[0]) is None
    assert cache.unpack(b'"etag"\n{"layout": "of an older release"}') is None
    client.close()
