"""What loans do to books: `available` in every representation, fresh in the cache after each
loan; copies never below those lent; no deleting a book that is out."""

from __future__ import annotations

from typing import Any

from apiflask import APIFlask
from flask.testing import FlaskClient

from shelf.auth.models import User
from tests.support.checks import assert_problem
from tests.support.loans import lend, return_path
from tests.support.people import make_user
from tests.support.resources import BOOKS, create_book

BOOKS_V2 = "/api/v2/books"


def test_a_new_book_has_every_copy_available(client: FlaskClient) -> None:
    book = create_book(client, copies=3)
    assert book["available"] == 3
    assert client.get(f"{BOOKS_V2}/{book['id']}").get_json()["available"] == 3


def test_available_counts_the_copies_on_loan_in_every_version(
    anon: FlaskClient, client: FlaskClient, member: User, as_member: dict[str, str]
) -> None:
    book = create_book(client, copies=3)
    lend(anon, member.id, book["id"], as_member)
    one = anon.get(f"{BOOKS}/{book['id']}").get_json()
    (listed,) = anon.get(BOOKS).get_json()["items"]
    assert (one["copies"], one["available"]) == (3, 2)
    assert listed == one
    assert anon.get(f"{BOOKS_V2}/{book['id']}").get_json()["available"] == 2


def test_a_listed_book_reads_as_the_book_alone_while_on_loan(
    anon: FlaskClient, client: FlaskClient, member: User, as_member: dict[str, str]
) -> None:
    books = [create_book(client, title=f"Book {n}", copies=2) for n in range(3)]
    lend(anon, member.id, books[1]["id"], as_member)
    response = anon.get(BOOKS)
    raw = response.get_data(as_text=True)
    for item in response.get_json()["items"]:
        alone = anon.get(f"{BOOKS}/{item['id']}")
        assert alone.get_json() == item
        assert alone.get_data(as_text=True).strip().strip("{}") in raw


def test_cached_books_are_fresh_after_a_loan_and_a_return(
    anon: FlaskClient, client: FlaskClient, member: User, as_member: dict[str, str]
) -> None:
    book = create_book(client, copies=1)
    paths = [f"{BOOKS}/{book['id']}", f"{BOOKS_V2}/{book['id']}", BOOKS]
    first = [anon.get(path) for path in paths]
    assert [anon.get(path).headers["X-Cache"] for path in paths] == ["HIT"] * 3
    loan = lend(anon, member.id, book["id"], as_member)
    after_loan = [anon.get(path) for path in paths]
    assert [answer.headers["X-Cache"] for answer in after_loan] == ["MISS"] * 3
    assert [_available(answer.get_json()) for answer in after_loan] == [0, 0, 0]
    # The version moved with the count: a client holding the old ETag gets the new body.
    assert after_loan[0].headers["ETag"] != first[0].headers["ETag"]
    stale = anon.get(paths[0], headers={"If-None-Match": first[0].headers["ETag"]})
    assert stale.status_code == 200
    anon.post(return_path(loan["id"]), headers=as_member)
    after_return = [anon.get(path) for path in paths]
    assert [answer.headers["X-Cache"] for answer in after_return] == ["MISS"] * 3
    assert [_available(answer.get_json()) for answer in after_return] == [1, 1, 1]


def test_a_refused_loan_leaves_the_cache_alone(
    app: APIFlask, anon: FlaskClient, client: FlaskClient, as_librarian: dict[str, str]
) -> None:
    book = create_book(client, copies=1)
    lend(anon, make_user(app).id, book["id"], as_librarian)
    path = f"{BOOKS}/{book['id']}"
    anon.get(path)
    refused = anon.post(
        f"/api/v1/users/{make_user(app).id}/loans",
        json={"book_id": book["id"]},
        headers=as_librarian,
    )
    assert_problem(refused, 409, "BOOK_UNAVAILABLE")
    assert anon.get(path).headers["X-Cache"] == "HIT"


def _available(body: dict[str, Any]) -> int:
    item = body["items"][0] if "items" in body else body
    available: int = item["available"]
    return available


def test_copies_cannot_go_below_those_on_loan(
    app: APIFlask, anon: FlaskClient, client: FlaskClient, as_librarian: dict[str, str]
) -> None:
    book = create_book(client, copies=3)
    for _ in range(2):
        borrower = make_user(app)
        lend(anon, borrower.id, book["id"], as_librarian)
    path = f"{BOOKS}/{book['id']}"
    problem = assert_problem(client.patch(path, json={"copies": 1}), 409, "BOOK_ON_LOAN")
    assert problem["details"][0]["field"] == "copies"
    put = client.put(path, json={"title": "Dune", "author": "Frank Herbert"})  # copies: 1
    assert_problem(put, 409, "BOOK_ON_LOAN")
    changed = client.patch(path, json={"copies": 2})
    assert changed.status_code == 200
    assert (changed.get_json()["copies"], changed.get_json()["available"]) == (2, 0)


def test_a_book_on_loan_cannot_be_deleted(
    anon: FlaskClient, client: FlaskClient, member: User, as_member: dict[str, str]
) -> None:
    book = create_book(client, copies=2)
    loan = lend(anon, member.id, book["id"], as_member)
    assert_problem(client.delete(f"{BOOKS}/{book['id']}"), 409, "BOOK_ON_LOAN")
    assert client.get(f"{BOOKS}/{book['id']}").status_code == 200
    # Once returned, the loan stays on record with its book: still 409, with another reason.
    anon.post(return_path(loan["id"]), headers=as_member)
    problem = assert_problem(client.delete(f"{BOOKS}/{book['id']}"), 409, "CONFLICT")
    assert "loans on record" in problem["detail"]


def test_a_book_never_lent_can_be_deleted(client: FlaskClient) -> None:
    book = create_book(client)
    assert client.delete(f"{BOOKS}/{book['id']}").status_code == 204
