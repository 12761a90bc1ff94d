"""Conditional writes: If-Match guards against lost updates, on every backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from shelf.app import create_app
from shelf.extensions import db
from shelf.models import Base
from tests.books.test_routes import BOOKS, assert_problem, create
from tests.conftest import ServerProcess, make_settings


def test_a_stale_if_match_is_412_on_every_write(client: FlaskClient) -> None:
    book = create(client)
    path = f"{BOOKS}/{book['id']}"
    stale = client.get(path).headers["ETag"]
    client.patch(path, json={"copies": 2})
    stale_headers = {"If-Match": stale}
    assert_problem(
        client.patch(path, json={"copies": 3}, headers=stale_headers), 412, "PRECONDITION_FAILED"
    )
    full = {"title": "T", "author": "A"}
    assert_problem(client.put(path, json=full, headers=stale_headers), 412, "PRECONDITION_FAILED")
    assert_problem(client.delete(path, headers=stale_headers), 412, "PRECONDITION_FAILED")
    assert client.get(path).get_json()["copies"] == 2


def test_the_current_etag_or_a_star_lets_the_write_through(client: FlaskClient) -> None:
    book = create(client)
    path = f"{BOOKS}/{book['id']}"
    current = client.get(path).headers["ETag"]
    changed = client.patch(path, json={"copies": 5}, headers={"If-Match": current})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != current
    assert client.patch(path, json={"copies": 6}, headers={"If-Match": "*"}).status_code == 200


def test_a_missing_if_match_is_428_when_required(
    app: APIFlask, database_url: str, issue_key: Callable[..., str]
) -> None:
    strict_app = create_app(make_settings(database_url=database_url, require_if_match=True))
    strict = strict_app.test_client()
    strict.environ_base["HTTP_X_API_KEY"] = issue_key("admin")
    book = create(strict)
    path = f"{BOOKS}/{book['id']}"
    assert_problem(strict.patch(path, json={"copies": 2}), 428, "PRECONDITION_REQUIRED")
    assert_problem(strict.delete(path), 428, "PRECONDITION_REQUIRED")
    etag = strict.get(path).headers["ETag"]
    assert strict.patch(path, json={"copies": 2}, headers={"If-Match": etag}).status_code == 200
    with strict_app.app_context():
        db.dispose()


@pytest.fixture
def postgres_server(
    postgresql_url: str,
    redis_url: str,
    redis_prefix: str,
    start_server: Callable[..., ServerProcess],
) -> Iterator[ServerProcess]:
    yield start_server(
        DATABASE_URL=postgresql_url,
        WEB_CONCURRENCY="4",
        WEB_THREADS="2",
        REDIS_URL=redis_url,
        REDIS_KEY_PREFIX=redis_prefix,
    )
    engine = create_engine(postgresql_url)
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


# Per resource: its collection, a new item, its id field, one increment, and the count so far.
COUNTERS: dict[
    str, tuple[str, dict[str, Any], str, Callable[..., dict[str, Any]], Callable[..., int]]
] = {
    "books": (
        BOOKS,
        {"title": "Counter", "author": "A", "copies": 0},
        "id",
        lambda book: {"copies": book["copies"] + 1},
        lambda book: book["copies"],
    ),
    "templates": (
        "/api/v1/templates",
        {"name": "Counter", "content": ""},
        "templateid",
        lambda template: {"content": template["content"] + "x"},
        lambda template: len(template["content"]),
    ),
}


@pytest.mark.server
@pytest.mark.parametrize("resource", COUNTERS)
def test_concurrent_read_modify_write_loses_no_update(
    postgres_server: ServerProcess, resource: str
) -> None:
    server = postgres_server
    collection, new, id_field, increment_of, count_of = COUNTERS[resource]
    headers = {"X-API-KEY": server.admin_key}
    item = requests.post(f"{server.url}{collection}", json=new, headers=headers, timeout=5).json()
    path = f"{server.url}{collection}/{item[id_field]}"

    def increment(_: int) -> int:
        successes = 0
        for _attempt in range(5):
            current = requests.get(path, headers=headers, timeout=10)
            response = requests.patch(
                path,
                json=increment_of(current.json()),
                headers={**headers, "If-Match": current.headers["ETag"]},
                timeout=10,
            )
            # 412: someone else wrote first; 503: the row lock wait ran out under load.
            assert response.status_code in (200, 412, 503), response.text
            successes += response.status_code == 200
        return successes

    with ThreadPoolExecutor(max_workers=20) as pool:
        successes = sum(pool.map(increment, range(20)))
    final = requests.get(path, headers=headers, timeout=5).json()
    assert successes > 0
    assert count_of(final) == successes
