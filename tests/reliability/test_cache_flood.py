"""Floods of distinct anonymous reads leave the response cache within CACHE_MAX_BYTES in Redis."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from apiflask import APIFlask

from shelf.app import create_app
from shelf.auth import api_keys
from shelf.extensions import db
from tests.support.factories import empty_tables, make_settings, migrate
from tests.support.private_redis import PrivateRedis
from tests.support.resources import BOOKS, TEMPLATES

BUDGET = 256 * 1024  # CACHE_MAX_BYTES of the flooded app


@pytest.fixture
def flooded(private_redis: PrivateRedis, tmp_path: Path) -> Iterator[APIFlask]:
    """An app on its own SQLite and its own Redis, caching at most BUDGET bytes a resource."""
    url = f"sqlite:///{tmp_path / 'shelf.db'}"
    migrate(url)
    settings = make_settings(
        database_url=url,
        redis_url=private_redis.url,
        cache_max_bytes=BUDGET,
        default_rate_limit=1_000_000,
    )
    app = create_app(settings)
    yield app
    with app.app_context():
        empty_tables(url)
        db.dispose()


def cache_bytes(client: redis.Redis, resource: str) -> int:
    """What Redis spends on the cached reads of `resource`: its entries and their index."""
    keys = [f"shelf:cache:{resource}", f"shelf:cache:{resource}:index"]
    return sum(client.memory_usage(key, samples=0) or 0 for key in keys)


def test_junk_parameters_and_distinct_pages_stay_within_the_budget(
    flooded: APIFlask, private_redis: PrivateRedis
) -> None:
    client = redis.Redis.from_url(private_redis.url)
    admin = flooded.test_client()
    with flooded.app_context():
        admin.environ_base["HTTP_X_API_KEY"] = api_keys.create_key(
            db.session, owner="flood", scopes=["admin"]
        ).secret
    book = admin.post(BOOKS, json={"title": "Dune", "author": "Frank Herbert"}).get_json()
    anon = flooded.test_client()
    anon.get(BOOKS)
    before = int(client.info("memory")["used_memory"])
    targets = (
        [f"{BOOKS}?junk={secrets.token_hex(1024)}" for _ in range(300)]
        + [f"{BOOKS}/{book['id']}?junk={secrets.token_hex(1024)}" for _ in range(300)]
        + [f"{BOOKS}?page={page}&per_page=1" for page in range(1, 1500)]
    )
    worst, errors = 0.0, 0
    for target in targets:
        started = time.perf_counter()
        status = anon.get(target).status_code
        worst = max(worst, time.perf_counter() - started)
        errors += status >= 500
    for page in range(1, 300):  # keyed reads of the other resource, through Flask
        admin.get(f"{TEMPLATES}?page={page}&utm={secrets.token_hex(512)}")
    grown = int(client.info("memory")["used_memory"]) - before
    books, templates = cache_bytes(client, "books"), cache_bytes(client, "templates")
    print(
        f"cache flood: {len(targets)} requests, worst {worst * 1000:.1f} ms, {errors} 5xx; "
        f"books cache {books} B, templates cache {templates} B, used_memory +{grown} B "
        f"(budget {BUDGET} B a resource)"
    )
    assert errors == 0
    assert books <= BUDGET
    assert templates <= BUDGET
    assert grown <= 2 * BUDGET + 1024 * 1024  # the two budgets, rate-limit windows, scripts
    client.close()
