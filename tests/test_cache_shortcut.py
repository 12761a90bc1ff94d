"""Anonymous cache hits answered before Flask: the same answers as the view, counted once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from apiflask import APIFlask
from flask import request
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from shelf.app import create_app
from shelf.auth.api_keys import clear_key_cache
from shelf.extensions import db
from shelf.web.anonymous_hits import CachedReadShortcut
from tests.support.factories import empty_tables, make_settings
from tests.support.metrics import requests_counted
from tests.support.resources import BOOKS, create_book
from tests.support.wsgi import find_layer

# Headers that differ between any two requests, whichever path answers them.
PER_REQUEST = {"X-Request-ID", "RateLimit-Remaining", "Date"}


@pytest.fixture(params=["memory", "redis"])
def app(
    request: pytest.FixtureRequest, sqlite_url: str, redis_url: str, redis_prefix: str
) -> Iterator[APIFlask]:
    """An app on SQLite whose cache lives in process memory or in Redis (for every fixture
    of conftest built on `app`: `client` holds an admin key, `anon` none)."""
    redis = {"redis_url": redis_url, "redis_key_prefix": redis_prefix}
    settings = make_settings(
        database_url=sqlite_url,
        default_rate_limit=1000,
        endpoint_rate_limits="books.list_books=3/minute",
        **(redis if request.param == "redis" else {}),
    )
    app = create_app(settings)
    yield app
    clear_key_cache()
    with app.app_context():
        empty_tables(sqlite_url)
        db.dispose()


@pytest.fixture
def flask_calls(app: APIFlask) -> list[str]:
    """The paths of the requests Flask itself handled (the shortcut's hits never get there)."""
    calls: list[str] = []

    def seen() -> None:
        calls.append(request.full_path)

    # First of the hooks: a later one may answer (a 401, a 429) before the rest run.
    app.before_request_funcs.setdefault(None, []).insert(0, seen)
    return calls


def through_flask(app: APIFlask, path: str, **kwargs: object) -> TestResponse:
    """The answer Flask's view gives, with the shortcut stepping aside."""
    shortcut = find_layer(app, CachedReadShortcut)
    assert shortcut is not None
    cached_answer = shortcut._cached_answer
    shortcut._cached_answer = lambda environ: None  # type: ignore[method-assign]
    try:
        return app.test_client().get(path, **kwargs)
    finally:
        shortcut._cached_answer = cached_answer  # type: ignore[method-assign]


def same_answer(shortcut: TestResponse, flask: TestResponse) -> None:
    def stable(response: TestResponse) -> dict[str, str]:
        return {k: v for k, v in response.headers.items() if k not in PER_REQUEST}

    assert shortcut.status_code == flask.status_code
    assert stable(shortcut) == stable(flask)
    assert shortcut.get_data() == flask.get_data()


def test_a_hit_is_answered_as_the_view_answers_it(
    app: APIFlask, client: FlaskClient, flask_calls: list[str]
) -> None:
    book = create_book(client)
    anon = app.test_client()
    for path in (f"{BOOKS}/{book['id']}", f"{BOOKS}?per_page=5&sort=title&page=1"):
        miss = anon.get(path)
        assert miss.headers["X-Cache"] == "MISS"
        flask_calls.clear()
        hit = anon.get(path)
        assert flask_calls == [], "the hit was answered before Flask"
        assert hit.headers["X-Cache"] == "HIT"
        same_answer(hit, through_flask(app, path))
        miss.headers["X-Cache"] = "HIT"
        same_answer(hit, miss)


def test_the_query_order_does_not_matter(app: APIFlask, flask_calls: list[str]) -> None:
    anon = app.test_client()
    anon.get(f"{BOOKS}?page=1&per_page=5")
    flask_calls.clear()
    assert anon.get(f"{BOOKS}?per_page=5&page=1").headers["X-Cache"] == "HIT"
    assert flask_calls == []


def test_if_none_match_is_answered_304(
    app: APIFlask, client: FlaskClient, flask_calls: list[str]
) -> None:
    path = f"{BOOKS}/{create_book(client)['id']}"
    anon = app.test_client()
    etag = anon.get(path).headers["ETag"]
    for offered, status in ((etag, 304), ('"book-0-v0"', 200)):
        flask_calls.clear()
        response = anon.get(path, headers={"If-None-Match": offered})
        assert (response.status_code, flask_calls) == (status, [])
        same_answer(response, through_flask(app, path, headers={"If-None-Match": offered}))


def test_each_request_is_counted_once(app: APIFlask) -> None:
    """books.list_books allows 3 a minute: a miss, two hits, then 429 from Flask."""
    anon = app.test_client()
    answers = [anon.get(BOOKS) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers.get("RateLimit-Remaining") for a in answers[:3]] == ["2", "1", "0"]
    assert answers[3].mimetype == "application/problem+json"
    assert answers[3].headers["Retry-After"]


def test_callers_with_credentials_go_through_flask(
    app: APIFlask, client: FlaskClient, flask_calls: list[str]
) -> None:
    path = f"{BOOKS}/{create_book(client)['id']}"
    app.test_client().get(path)
    for headers, status in (({"X-API-KEY": "shelf_not-a-key"}, 401), ({"Authorization": "x"}, 200)):
        flask_calls.clear()
        response = app.test_client().get(path, headers=headers)
        assert len(flask_calls) == 1
        # An unknown key is refused; an Authorization scheme Shelf does not take is not a key.
        assert response.status_code == status


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS"])
def test_other_methods_go_through_flask(app: APIFlask, flask_calls: list[str], method: str) -> None:
    anon = app.test_client()
    anon.get(BOOKS)
    flask_calls.clear()
    anon.open(BOOKS, method=method)
    assert len(flask_calls) == 1


def test_metrics_name_the_route(app: APIFlask, client: FlaskClient) -> None:
    path = f"{BOOKS}/{create_book(client)['id']}"
    anon = app.test_client()
    series = {"method": "GET", "route": "/api/v1/books/<int:book_id>", "status": "200"}
    anon.get(path)
    before = requests_counted(anon, **series)
    assert anon.get(path).headers["X-Cache"] == "HIT"
    assert requests_counted(anon, **series) == before + 1


def test_not_installed_when_cors_is_on(sqlite_url: str) -> None:
    app = create_app(make_settings(database_url=sqlite_url, cors_origins=["https://a.example"]))
    assert find_layer(app, CachedReadShortcut) is None


def test_a_disabled_cache_sends_every_request_to_flask(sqlite_url: str) -> None:
    """Two workers and no Redis: the cache is off (it could not stay coherent)."""
    app = create_app(make_settings(database_url=sqlite_url, web_concurrency=2))
    calls: list[str] = []
    app.before_request(lambda: calls.append("seen"))
    anon = app.test_client()
    answers = [anon.get(BOOKS) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert "X-Cache" not in answers[1].headers
    assert len(calls) == 2
