"""Version 2 of `getBook` (authors as a list) beside version 1, which announces its retirement."""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient

from shelf.books import routes
from shelf.config import Settings
from shelf.web import retirement
from tests.support.checks import assert_problem
from tests.support.factories import make_settings

BOOK = {"title": "The C Programming Language", "author": "Brian W. Kernighan; Dennis M. Ritchie"}


def _create(client: FlaskClient, **fields: object) -> int:
    response = client.post("/api/v1/books", json={**BOOK, **fields})
    assert response.status_code == 201, response.json
    book_id: int = response.json["id"]
    return book_id


def _successor(path: str, link: str) -> str:
    """The path the successor-version link of an answer to `path` stands for."""
    target, relation = link.split(";", 1)
    assert relation.strip() == 'rel="successor-version"'
    reference = target.strip().removeprefix("<").removesuffix(">")
    assert not reference.startswith(("/", "http")), "the link is relative to the request"
    return posixpath.normpath(posixpath.join(posixpath.dirname(path), reference))


def test_version_2_lists_a_books_authors(client: FlaskClient, anon: FlaskClient) -> None:
    book_id = _create(client)
    first = anon.get(f"/api/v1/books/{book_id}")
    second = anon.get(f"/api/v2/books/{book_id}")
    assert second.status_code == 200
    assert second.json["authors"] == ["Brian W. Kernighan", "Dennis M. Ritchie"]
    assert "author" not in second.json
    assert first.json["author"] == BOOK["author"]
    for field in ("id", "title", "isbn", "published_year", "copies", "created_at", "updated_at"):
        assert second.json[field] == first.json[field]
    # One book, two representations: their ETags differ, so no validator passes for the other.
    assert second.headers["ETag"] != first.headers["ETag"]
    assert (
        anon.get(
            f"/api/v2/books/{book_id}", headers={"If-None-Match": first.headers["ETag"]}
        ).status_code
        == 200
    )
    assert (
        anon.get(
            f"/api/v2/books/{book_id}", headers={"If-None-Match": second.headers["ETag"]}
        ).status_code
        == 304
    )


def test_version_2_has_one_author_for_a_book_with_one(client: FlaskClient) -> None:
    book_id = _create(client, author="Frank Herbert")
    assert client.get(f"/api/v2/books/{book_id}").json["authors"] == ["Frank Herbert"]


def test_version_2_answers_as_the_api_does(client: FlaskClient, anon: FlaskClient) -> None:
    assert_problem(anon.get("/api/v2/books/999999"), 404, "NOT_FOUND")
    assert_problem(anon.delete("/api/v2/books/1"), 405, "METHOD_NOT_ALLOWED")
    assert "RateLimit-Limit" in anon.get("/api/v2/books/999999").headers  # counted like v1
    book_id = _create(client)
    assert client.patch(f"/api/v1/books/{book_id}", json={"author": "K&R"}).status_code == 200
    assert anon.get(f"/api/v2/books/{book_id}").json["authors"] == ["K&R"]  # writes clear it


def test_version_1_announces_its_retirement_on_every_answer(
    client: FlaskClient, anon: FlaskClient
) -> None:
    book_id = _create(client)
    path = f"/api/v1/books/{book_id}"
    answers = [anon.get(path), anon.get(path), client.get(path), anon.get("/api/v1/books/999999")]
    assert [a.status_code for a in answers] == [200, 200, 200, 404]
    assert answers[1].headers.get("X-Cache") == "HIT"  # a cache hit answers with them too
    for answer in answers:
        assert answer.headers["Deprecation"] == f"@{int(routes.GET_BOOK_DEPRECATED.timestamp())}"
        assert parsedate_to_datetime(answer.headers["Sunset"]) == routes.GET_BOOK_SUNSET
    for answer in answers[:3]:
        assert _successor(path, answer.headers["Link"]) == f"/api/v2/books/{book_id}"
    assert _successor("/api/v1/books/999999", answers[3].headers["Link"]) == (
        "/api/v2/books/999999"
    )
    # Operations that are not retired say nothing of it.
    assert "Deprecation" not in anon.get("/api/v1/books").headers


def test_the_successor_link_ignores_a_forwarded_prefix(
    make_app: Callable[..., APIFlask], issue_key: Callable[..., str]
) -> None:
    app = make_app(trusted_proxies=1)
    writer = app.test_client()
    writer.environ_base["HTTP_X_API_KEY"] = issue_key("admin")
    book_id = _create(writer)
    for prefix in ("/evil", "//evil.example", ""):
        answer = app.test_client().get(
            f"/api/v1/books/{book_id}", headers={"X-Forwarded-Prefix": prefix}
        )
        assert "evil" not in answer.headers["Link"]
        assert _successor(f"/api/v1/books/{book_id}", answer.headers["Link"]) == (
            f"/api/v2/books/{book_id}"
        )


def test_after_the_sunset_version_1_is_gone(
    client: FlaskClient, anon: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    book_id = _create(client)

    class AfterTheSunset(datetime):
        @classmethod
        def now(cls, tz: object = None) -> AfterTheSunset:  # type: ignore[override]
            return cls(2030, 1, 1, tzinfo=UTC)

    monkeypatch.setattr(retirement, "datetime", AfterTheSunset)
    answer = anon.get(f"/api/v1/books/{book_id}")
    assert_problem(answer, 410, "GONE")
    assert _successor(f"/api/v1/books/{book_id}", answer.headers["Link"]) == (
        f"/api/v2/books/{book_id}"
    )
    assert anon.get(f"/api/v2/books/{book_id}").status_code == 200


def test_both_versions_are_in_the_openapi_document(anon: FlaskClient) -> None:
    paths = anon.get("/openapi.json").json["paths"]
    old, new = paths["/api/v1/books/{book_id}"]["get"], paths["/api/v2/books/{book_id}"]["get"]
    assert (old["operationId"], new["operationId"]) == ("getBook", "getBookV2")
    assert old["deprecated"] is True
    assert "deprecated" not in new
    assert {"Deprecation", "Sunset", "Link"} <= set(old["responses"]["200"]["headers"])
    assert "410" in old["responses"]
    assert new["tags"] == old["tags"] == ["Books"]
    schema = new["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/BookOutV2")


@pytest.mark.parametrize(
    ("api_prefix", "second"),
    [("/api/v1", "/api/v2"), ("/catalogue/v1", "/catalogue/v2"), ("/api", "/api/v2")],
)
def test_version_2_lives_beside_api_prefix(api_prefix: str, second: str) -> None:
    settings = make_settings(api_prefix=api_prefix)
    assert isinstance(settings, Settings)
    assert settings.api_prefixes == (api_prefix, second)
