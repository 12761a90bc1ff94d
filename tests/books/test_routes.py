"""What only books do: their defaults, PUT and PATCH of their fields, ISBN rules and limits.

The HTTP contract books share with every resource is tests/contract/.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.support.checks import assert_problem
from tests.support.resources import BOOKS, create_book, new_book


def test_create_returns_the_book_with_defaults(client: FlaskClient) -> None:
    book = create_book(client, isbn="0-306-40615-2", published_year=1965)
    assert book["isbn"] == "9780306406157"  # ISBN-10 stored as ISBN-13
    assert book["copies"] == 1
    assert book["description"] == ""
    assert book["created_at"].endswith("Z")
    assert isinstance(book["id"], int)


def test_put_replaces_every_field(client: FlaskClient) -> None:
    book = create_book(client, description="old", copies=4, published_year=1965)
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
    book = create_book(client, description="keep", copies=4)
    response = client.patch(f"{BOOKS}/{book['id']}", json={"copies": 0})
    assert response.status_code == 200
    changed = response.get_json()
    assert changed["copies"] == 0
    assert changed["description"] == "keep"
    assert changed["title"] == book["title"]
    assert changed["updated_at"] >= book["updated_at"]


def test_duplicate_isbn_is_409_whatever_its_form(client: FlaskClient) -> None:
    create_book(client, isbn="978-0-306-40615-7")
    response = client.post(BOOKS, json=new_book(isbn="0306406152"))
    body = assert_problem(response, 409, "CONFLICT")
    assert body["details"][0]["field"] == "isbn"


def test_changing_isbn_to_a_taken_one_is_409(client: FlaskClient) -> None:
    create_book(client, isbn="9780306406157")
    other = create_book(client, isbn="9780135957059")
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


def test_a_deleted_books_id_and_etag_never_come_back(client: FlaskClient) -> None:
    first = client.post(BOOKS, json=new_book())
    gone = f"{BOOKS}/{first.get_json()['id']}"
    assert client.delete(gone).status_code == 204
    second = client.post(BOOKS, json=new_book())
    assert second.get_json()["id"] != first.get_json()["id"]  # SQLite too: AUTOINCREMENT
    assert second.headers["ETag"] != first.headers["ETag"]
    again = client.get(second.headers["Location"], headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200  # the old ETag matches nothing
