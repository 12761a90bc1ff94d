"""Who a cached entry belongs to is declared by the view: `public` or `principal`."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from apiflask import APIBlueprint, APIFlask
from flask.testing import FlaskClient

from shelf.app import create_app
from shelf.auth.api_keys import clear_key_cache
from shelf.auth.schemes import auth, current_principal
from shelf.books.schemas import BookQuery
from shelf.extensions import db
from shelf.web.caching import cache_policy, cached, query_model
from tests.support.factories import empty_tables, make_settings


def add_whoami(app: APIFlask) -> None:
    """A per-caller read, cached per principal, as "my loans" would be."""
    bp = APIBlueprint("whoami", __name__)

    @bp.get("/whoami")
    @bp.auth_required(auth, roles=["books:write"])
    @cached("books", vary="principal")
    def whoami() -> object:
        principal = current_principal()
        return {"subject": principal.subject if principal else None}

    app.register_blueprint(bp, url_prefix=app.extensions["shelf.settings"].api_prefix)


@pytest.fixture(params=["memory", "redis"])
def app(
    request: pytest.FixtureRequest, sqlite_url: str, redis_url: str, redis_prefix: str
) -> Iterator[APIFlask]:
    redis = {"redis_url": redis_url, "redis_key_prefix": redis_prefix}
    settings = make_settings(database_url=sqlite_url, **(redis if request.param == "redis" else {}))
    app = create_app(settings)
    add_whoami(app)
    yield app
    clear_key_cache()
    with app.app_context():
        empty_tables(sqlite_url)
        db.dispose()


def test_a_per_caller_cached_view_serves_each_caller_its_own_entry(
    app: APIFlask, issue_key: Callable[..., str]
) -> None:
    first, second = issue_key("books:write", owner="a"), issue_key("books:write", owner="b")
    answers = {}
    for key in (first, second, first, second):
        response = app.test_client().get("/api/v1/whoami", headers={"X-API-KEY": key})
        assert response.status_code == 200
        answers.setdefault(key, []).append((response.json["subject"], response.headers["X-Cache"]))
    assert answers[first][0][1] == answers[second][0][1] == "MISS"
    assert answers[first][1][1] == answers[second][1][1] == "HIT"
    assert answers[first][0][0] == answers[first][1][0]
    assert answers[second][0][0] == answers[second][1][0]
    assert answers[first][0][0] != answers[second][0][0]
    assert response.headers["Cache-Control"] == "no-store"


def test_a_public_cached_view_shares_its_entry_between_callers(
    app: APIFlask, client: FlaskClient, issue_key: Callable[..., str]
) -> None:
    book = client.post("/api/v1/books", json={"title": "Shared", "author": "A"}).json
    other = app.test_client()
    other.environ_base["HTTP_X_API_KEY"] = issue_key("books:write")
    assert client.get(f"/api/v1/books/{book['id']}").headers["X-Cache"] == "MISS"
    assert other.get(f"/api/v1/books/{book['id']}").headers["X-Cache"] == "HIT"


def test_the_anonymous_shortcut_never_answers_a_per_caller_view(
    app: APIFlask, anon: FlaskClient
) -> None:
    assert anon.get("/api/v1/whoami").status_code == 401
    assert anon.get("/api/v1/whoami").status_code == 401


def test_cached_requires_saying_who_an_entry_varies_by() -> None:
    with pytest.raises(TypeError):
        cached("books")  # type: ignore[call-arg]


def test_every_cached_view_keys_on_the_query_model_it_validates(app: APIFlask) -> None:
    """`@cached` above `@bp.input`: a cache keyed without the query would answer every page
    with the first one cached."""
    for endpoint, view in app.view_functions.items():
        policy = cache_policy(view)
        if policy is not None:
            assert policy.query is query_model(view), endpoint
    assert cache_policy(app.view_functions["books.list_books"]).query is BookQuery  # type: ignore[union-attr]
