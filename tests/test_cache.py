"""Response caching of reads, invalidated by writes on every worker."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from flask.testing import FlaskClient

from tests.books.test_routes import BOOKS, create
from tests.conftest import ServerProcess


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
    for path in (BOOKS, item):
        response = requests.get(f"{first.url}{path}", timeout=5)
        assert response.headers["X-Cache"] == "MISS"
        assert "9" in response.text
