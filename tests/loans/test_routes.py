"""Loans over HTTP: lending, listing with filters, returning, and every refusal as a problem."""

from __future__ import annotations

from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import select

from shelf.audit.models import AuditRecord
from shelf.auth.models import User
from shelf.extensions import db
from shelf.loans.models import Loan
from tests.support.checks import assert_problem
from tests.support.loans import LOANS, lend, loans_path, return_path
from tests.support.people import make_user
from tests.support.resources import create_book

LOAN_FIELDS = {"id", "user_id", "book_id", "borrowed_at", "due_at", "returned_at", "overdue"}


def test_a_member_borrows_a_book(
    anon: FlaskClient,
    member: User,
    as_member: dict[str, str],
    book: dict[str, Any],
) -> None:
    response = anon.post(
        loans_path(member.id), json={"book_id": book["id"], "days": 21}, headers=as_member
    )
    assert response.status_code == 201
    loan = response.get_json()
    assert loan.keys() == LOAN_FIELDS
    assert (loan["user_id"], loan["book_id"]) == (member.id, book["id"])
    assert (loan["returned_at"], loan["overdue"]) == (None, False)
    assert loan["due_at"].endswith("Z")
    assert response.headers["Location"] == f"{LOANS}/{loan['id']}"
    read = anon.get(response.headers["Location"], headers=as_member)
    assert read.status_code == 200
    assert read.get_json() == loan


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "book_id"),
        ({"book_id": "1"}, "book_id"),
        ({"book_id": 0}, "book_id"),
        ({"book_id": 2**31}, "book_id"),
        ({"book_id": 1, "days": 0}, "days"),
        ({"book_id": 1, "days": 61}, "days"),
        ({"book_id": 1, "days": 1.5}, "days"),
        ({"book_id": 1, "until": "tomorrow"}, "until"),
    ],
)
def test_invalid_bodies_are_422(
    anon: FlaskClient,
    member: User,
    as_member: dict[str, str],
    body: dict[str, Any],
    field: str,
) -> None:
    response = anon.post(loans_path(member.id), json=body, headers=as_member)
    problem = assert_problem(response, 422, "VALIDATION_FAILED")
    assert problem["details"][0]["field"] == field


def test_an_unknown_book_is_422_on_book_id(
    anon: FlaskClient, member: User, as_member: dict[str, str]
) -> None:
    response = anon.post(loans_path(member.id), json={"book_id": 999_999}, headers=as_member)
    problem = assert_problem(response, 422, "VALIDATION_FAILED")
    assert problem["details"][0]["field"] == "book_id"


def test_no_copy_left_is_book_unavailable(
    anon: FlaskClient, app: APIFlask, client: FlaskClient, headers_of: Any
) -> None:
    book = create_book(client, copies=1)
    first, second = make_user(app), make_user(app)
    lend(anon, first.id, book["id"], headers_of(first))
    response = anon.post(
        loans_path(second.id), json={"book_id": book["id"]}, headers=headers_of(second)
    )
    assert_problem(response, 409, "BOOK_UNAVAILABLE")


def test_a_second_active_loan_of_the_same_book_is_409(
    anon: FlaskClient,
    client: FlaskClient,
    member: User,
    as_member: dict[str, str],
    book: dict[str, Any],
) -> None:
    lend(anon, member.id, book["id"], as_member)
    response = anon.post(loans_path(member.id), json={"book_id": book["id"]}, headers=as_member)
    assert_problem(response, 409, "ALREADY_BORROWED")
    assert client.get(f"/api/v1/books/{book['id']}").get_json()["available"] == 1


def test_a_deactivated_account_cannot_borrow(
    anon: FlaskClient,
    app: APIFlask,
    as_librarian: dict[str, str],
    book: dict[str, Any],
) -> None:
    inactive = make_user(app, active=False)
    response = anon.post(
        loans_path(inactive.id), json={"book_id": book["id"]}, headers=as_librarian
    )
    assert_problem(response, 409, "USER_INACTIVE")


def test_return_sets_returned_at_and_frees_the_copy(
    anon: FlaskClient,
    client: FlaskClient,
    member: User,
    as_member: dict[str, str],
    book: dict[str, Any],
) -> None:
    loan = lend(anon, member.id, book["id"], as_member)
    response = anon.post(return_path(loan["id"]), headers=as_member)
    assert response.status_code == 200
    returned = response.get_json()
    assert returned["returned_at"] is not None
    assert returned["returned_at"] >= loan["borrowed_at"]
    assert returned["overdue"] is False
    assert client.get(f"/api/v1/books/{book['id']}").get_json()["available"] == 2
    again = anon.post(return_path(loan["id"]), headers=as_member)
    assert_problem(again, 409, "ALREADY_RETURNED")
    assert client.get(f"/api/v1/books/{book['id']}").get_json()["available"] == 2


def test_returning_an_unknown_loan_is_404(anon: FlaskClient, as_librarian: dict[str, str]) -> None:
    for loan_id in (999_999, 2**31):
        assert_problem(anon.post(return_path(loan_id), headers=as_librarian), 404, "NOT_FOUND")


def _make_overdue(app: APIFlask, loan_id: int) -> None:
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        assert loan is not None
        loan.due_at = loan.borrowed_at.replace(year=loan.borrowed_at.year - 1)
        db.session.commit()


def test_the_list_filters_active_and_overdue(
    anon: FlaskClient, app: APIFlask, client: FlaskClient, member: User, as_member: dict[str, str]
) -> None:
    books = [create_book(client, title=f"Book {n}") for n in range(3)]
    returned, late, current = (lend(anon, member.id, b["id"], as_member) for b in books)
    anon.post(return_path(returned["id"]), headers=as_member)
    _make_overdue(app, late["id"])

    def ids(query: str = "") -> list[int]:
        response = anon.get(f"{loans_path(member.id)}{query}", headers=as_member)
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids() == [returned["id"], late["id"], current["id"]]
    assert ids("?active=true") == [late["id"], current["id"]]
    assert ids("?active=false") == [returned["id"]]
    assert ids("?overdue=true") == [late["id"]]
    assert ids("?overdue=false") == [returned["id"], current["id"]]
    assert ids("?active=true&overdue=false") == [current["id"]]
    item = anon.get(f"{loans_path(member.id)}?overdue=true", headers=as_member).get_json()
    assert item["items"][0]["overdue"] is True
    assert_problem(
        anon.get(f"{loans_path(member.id)}?active=maybe", headers=as_member),
        422,
        "VALIDATION_FAILED",
    )


def test_the_list_pages_with_cursors_and_reads_as_each_loan(
    anon: FlaskClient, client: FlaskClient, member: User, as_member: dict[str, str]
) -> None:
    for n in range(5):
        lend(anon, member.id, create_book(client, title=f"Book {n}")["id"], as_member)
    first = anon.get(f"{loans_path(member.id)}?per_page=2&sort=-borrowed_at", headers=as_member)
    body = first.get_json()
    assert (body["total"], len(body["items"])) == (5, 2)
    assert 'rel="next"' in first.headers["Link"]
    seen = [item["id"] for item in body["items"]]
    while body["links"]["next"]:
        body = anon.get(f"{loans_path(member.id)}{body['links']['next']}", headers=as_member)
        body = body.get_json()
        seen += [item["id"] for item in body["items"]]
    assert seen == sorted(seen, reverse=True)
    assert len(set(seen)) == 5
    # A page's rows go to JSON as the database gives them: each reads as the loan alone.
    raw = first.get_data(as_text=True)
    for item in first.get_json()["items"]:
        alone = anon.get(f"{LOANS}/{item['id']}", headers=as_member)
        assert alone.get_json() == item
        assert alone.get_data(as_text=True).strip().strip("{}") in raw


def test_loan_reads_are_never_stored_by_shared_caches(
    anon: FlaskClient,
    member: User,
    as_member: dict[str, str],
    book: dict[str, Any],
) -> None:
    loan = lend(anon, member.id, book["id"], as_member)
    for path in (loans_path(member.id), f"{LOANS}/{loan['id']}"):
        response = anon.get(path, headers=as_member)
        assert response.headers["Cache-Control"] == "no-store"
        assert "X-Cache" not in response.headers  # not kept by the service either


def test_a_loan_read_answers_if_none_match(
    anon: FlaskClient,
    member: User,
    as_member: dict[str, str],
    book: dict[str, Any],
) -> None:
    loan = lend(anon, member.id, book["id"], as_member)
    first = anon.get(f"{LOANS}/{loan['id']}", headers=as_member)
    again = anon.get(
        f"{LOANS}/{loan['id']}", headers={**as_member, "If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304


def test_a_retried_loan_with_its_idempotency_key_is_lent_once(
    anon: FlaskClient, client: FlaskClient, member: User, as_member: dict[str, str]
) -> None:
    book = create_book(client, copies=3)
    keyed = {**as_member, "Idempotency-Key": "loan-1"}
    first = anon.post(loans_path(member.id), json={"book_id": book["id"]}, headers=keyed)
    again = anon.post(loans_path(member.id), json={"book_id": book["id"]}, headers=keyed)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert client.get(f"/api/v1/books/{book['id']}").get_json()["available"] == 2
    keyed_return = {**as_member, "Idempotency-Key": "return-1"}
    path = return_path(first.get_json()["id"])
    assert anon.post(path, headers=keyed_return).status_code == 200
    assert anon.post(path, headers=keyed_return).headers["Idempotent-Replayed"] == "true"
    assert client.get(f"/api/v1/books/{book['id']}").get_json()["available"] == 3


def test_lending_and_returning_are_in_the_audit_log(
    app: APIFlask, anon: FlaskClient, member: User, as_member: dict[str, str], book: dict[str, Any]
) -> None:
    loan = lend(anon, member.id, book["id"], as_member)
    anon.post(return_path(loan["id"]), headers=as_member)
    with app.app_context():
        records = db.session.scalars(
            select(AuditRecord)
            .where(AuditRecord.target_type == "loan", AuditRecord.target_id == str(loan["id"]))
            .order_by(AuditRecord.id)
        ).all()
    assert [record.action for record in records] == ["loan.create", "loan.update"]
    assert {(record.actor_kind, record.actor_id) for record in records} == {
        ("user", str(member.id))
    }
    assert records[1].changes.keys() == {"returned_at"}
