"""The books API, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

BOOKS = "/api/v1/books"
PROBLEM_FIELDS = {"type", "title", "status", "detail", "code", "message", "details", "request_id"}


def new_book(**fields: Any) -> dict[str, Any]:
    return {"title": "Dune", "author": "Frank Herbert", **fields}


def create(client: FlaskClient, **fields: Any) -> dict[str, Any]:
    response = client.post(BOOKS, json=new_book(**fields))
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body.keys() >= PROBLEM_FIELDS
    assert body["status"] == status
    assert body["code"] == code
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


def test_create_returns_the_book_with_defaults(client: FlaskClient) -> None:
    book = create(client, isbn="0-306-40615-2", published_year=1965)
    assert book["isbn"] == "9780306406157"  # ISBN-10 stored as ISBN-13
    assert book["copies"] == 1
    assert book["description"] == ""
    assert book["created_at"].endswith("Z")
    assert isinstance(book["id"], int)


def test_get_returns_the_book_with_an_etag(client: FlaskClient) -> None:
    book = create(client)
    response = client.get(f"{BOOKS}/{book['id']}")
    assert response.status_code == 200
    assert response.get_json() == book
    assert response.headers["ETag"]


def test_if_none_match_gives_304(client: FlaskClient) -> None:
    book = create(client)
    etag = client.get(f"{BOOKS}/{book['id']}").headers["ETag"]
    assert client.get(f"{BOOKS}/{book['id']}", headers={"If-None-Match": etag}).status_code == 304


def test_put_replaces_every_field(client: FlaskClient) -> None:
    book = create(client, description="old", copies=4, published_year=1965)
    response = client.put(
        f"{BOOKS}/{book['id']}", json={"title": "Dune Messiah", "author": "F. H."}
    )
    assert response.status_code == 200
    replaced = response.get_json()
    assert replaced["title"] == "Dune Messiah"
    assert replaced["description"] == ""
    assert replaced["copies"] == 1
    assert replaced["published_year"] is None


def test_patch_changes_only_what_is_sent(client: FlaskClient) -> None:
    book = create(client, description="keep", copies=4)
    response = client.patch(f"{BOOKS}/{book['id']}", json={"copies": 0})
    assert response.status_code == 200
    changed = response.get_json()
    assert changed["copies"] == 0
    assert changed["description"] == "keep"
    assert changed["title"] == book["title"]
    assert changed["updated_at"] >= book["updated_at"]


def test_patch_cannot_null_a_required_field(client: FlaskClient) -> None:
    book = create(client)
    response = client.patch(f"{BOOKS}/{book['id']}", json={"title": None})
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    assert body["details"][0]["field"] == "title"


def test_delete_gives_204_then_404(client: FlaskClient) -> None:
    book = create(client)
    response = client.delete(f"{BOOKS}/{book['id']}")
    assert response.status_code == 204
    assert response.data == b""
    assert_problem(client.get(f"{BOOKS}/{book['id']}"), 404, "NOT_FOUND")


@pytest.mark.parametrize("path", ["999999", "2147483648", "99999999999999999999999", "abc", "-1"])
def test_unknown_ids_are_404(client: FlaskClient, path: str) -> None:
    for method in ("get", "put", "patch", "delete"):
        response = getattr(client, method)(f"{BOOKS}/{path}", json=new_book())
        assert_problem(response, 404, "NOT_FOUND")


def test_duplicate_isbn_is_409_whatever_its_form(client: FlaskClient) -> None:
    create(client, isbn="978-0-306-40615-7")
    response = client.post(BOOKS, json=new_book(isbn="0306406152"))
    body = assert_problem(response, 409, "CONFLICT")
    assert body["details"][0]["field"] == "isbn"


def test_changing_isbn_to_a_taken_one_is_409(client: FlaskClient) -> None:
    create(client, isbn="9780306406157")
    other = create(client, isbn="9780135957059")
    response = client.patch(f"{BOOKS}/{other['id']}", json={"isbn": "9780306406157"})
    assert_problem(response, 409, "CONFLICT")
    assert client.get(f"{BOOKS}/{other['id']}").get_json()["isbn"] == "9780135957059"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"author": "y" * 201}, "author"),
        ({"isbn": "978-0-306-40615-8"}, "isbn"),
        ({"isbn": "0306406153"}, "isbn"),
        ({"isbn": "not an isbn"}, "isbn"),
        ({"published_year": 3000}, "published_year"),
        ({"published_year": "1999"}, "published_year"),
        ({"published_year": 1999.5}, "published_year"),
        ({"description": "d" * 5001}, "description"),
        ({"copies": -1}, "copies"),
        ({"copies": True}, "copies"),
        ({"title": "nul\x00byte"}, "title"),
        ({"shelf": "B2"}, "shelf"),
    ],
)
def test_invalid_values_are_422_naming_the_field(
    client: FlaskClient, fields: dict[str, Any], field: str
) -> None:
    body = assert_problem(client.post(BOOKS, json=new_book(**fields)), 422, "VALIDATION_FAILED")
    assert [d["field"] for d in body["details"]] == [field]
    detail = body["details"][0]
    assert detail["issue"]
    assert detail["hint"]


def test_missing_fields_are_each_named(client: FlaskClient) -> None:
    body = assert_problem(client.post(BOOKS, json={}), 422, "VALIDATION_FAILED")
    assert {d["field"] for d in body["details"]} == {"title", "author"}


@pytest.mark.parametrize("payload", ["[]", '"a string"', "42", "null"])
def test_a_body_that_is_not_an_object_is_422(client: FlaskClient, payload: Any) -> None:
    response = client.post(BOOKS, data=payload, content_type="application/json")
    assert_problem(response, 422, "VALIDATION_FAILED")
    book = create(client)
    response = client.patch(f"{BOOKS}/{book['id']}", data=payload, content_type="application/json")
    assert_problem(response, 422, "VALIDATION_FAILED")


def test_malformed_json_is_400(client: FlaskClient) -> None:
    response = client.post(BOOKS, data='{"title": ', content_type="application/json")
    assert_problem(response, 400, "BAD_REQUEST")


def test_a_non_json_body_is_415(client: FlaskClient) -> None:
    response = client.post(
        BOOKS, data="title=Dune", content_type="application/x-www-form-urlencoded"
    )
    assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_a_body_over_the_limit_is_413(client: FlaskClient) -> None:
    response = client.post(BOOKS, json=new_book(description="d" * 2_000_000))
    assert_problem(response, 413, "PAYLOAD_TOO_LARGE")


def test_a_wrong_method_is_405_with_allow(client: FlaskClient) -> None:
    response = client.delete(BOOKS)
    assert_problem(response, 405, "METHOD_NOT_ALLOWED")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_an_unknown_route_is_404(client: FlaskClient) -> None:
    assert_problem(client.get("/api/v1/nothing-here"), 404, "NOT_FOUND")
