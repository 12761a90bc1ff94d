"""Who may see and change which loans: members their own, `loans:admin` everyone's, and what
a caller may not see is a 404, never a 403 that would confirm it exists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient

from shelf.auth import tokens
from shelf.auth.models import User
from tests.support.checks import assert_problem
from tests.support.loans import LOANS, lend, loans_path, return_path
from tests.support.people import make_user

Headers = dict[str, str]


@pytest.fixture
def loan(anon: FlaskClient, member: User, as_member: Headers, book: dict[str, Any]) -> Any:
    """An active loan of `member`'s."""
    return lend(anon, member.id, book["id"], as_member)


def _every_operation(user_id: int, loan_id: int, book_id: int) -> list[tuple[str, str, Any]]:
    return [
        ("GET", loans_path(user_id), None),
        ("POST", loans_path(user_id), {"book_id": book_id}),
        ("GET", f"{LOANS}/{loan_id}", None),
        ("POST", return_path(loan_id), None),
    ]


def test_anonymous_callers_are_401(
    anon: FlaskClient, member: User, loan: dict[str, Any], book: dict[str, Any]
) -> None:
    for method, path, body in _every_operation(member.id, loan["id"], book["id"]):
        response = anon.open(path, method=method, json=body)
        assert_problem(response, 401, "UNAUTHORIZED")
        assert "WWW-Authenticate" in response.headers


def test_another_members_loans_are_404(
    anon: FlaskClient,
    member: User,
    other_member: User,
    headers_of: Callable[..., Headers],
    loan: dict[str, Any],
    book: dict[str, Any],
) -> None:
    other = headers_of(other_member)
    for method, path, body in _every_operation(member.id, loan["id"], book["id"]):
        response = anon.open(path, method=method, json=body, headers=other)
        assert_problem(response, 404, "NOT_FOUND")
    # The same answer as for a user that does not exist: nothing is disclosed.
    unknown = anon.get(loans_path(999_999), headers=other)
    assert_problem(unknown, 404, "NOT_FOUND")
    hidden = anon.get(f"{LOANS}/{loan['id']}", headers=other).get_json()["detail"]
    missing = anon.get(f"{LOANS}/999999", headers=other).get_json()["detail"]
    assert hidden.replace(str(loan["id"]), "N") == missing.replace("999999", "N")


def test_a_member_sees_and_returns_their_own(
    anon: FlaskClient, member: User, as_member: Headers, loan: dict[str, Any]
) -> None:
    assert anon.get(loans_path(member.id), headers=as_member).get_json()["total"] == 1
    assert anon.get(f"{LOANS}/{loan['id']}", headers=as_member).status_code == 200
    assert anon.post(return_path(loan["id"]), headers=as_member).status_code == 200


def test_a_member_token_without_write_scope_is_403(
    anon: FlaskClient,
    member: User,
    headers_of: Callable[..., Headers],
    loan: dict[str, Any],
    book: dict[str, Any],
) -> None:
    read_only = headers_of(member, scope="loans:read")
    assert anon.get(loans_path(member.id), headers=read_only).status_code == 200
    assert_problem(
        anon.post(loans_path(member.id), json={"book_id": book["id"]}, headers=read_only),
        403,
        "FORBIDDEN",
    )
    assert_problem(anon.post(return_path(loan["id"]), headers=read_only), 403, "FORBIDDEN")


def test_a_librarian_acts_on_everyones_loans(
    app: APIFlask,
    anon: FlaskClient,
    as_librarian: Headers,
    loan: dict[str, Any],
    member: User,
) -> None:
    assert anon.get(loans_path(member.id), headers=as_librarian).get_json()["total"] == 1
    assert anon.get(f"{LOANS}/{loan['id']}", headers=as_librarian).status_code == 200
    borrower = make_user(app)
    lent = lend(anon, borrower.id, loan["book_id"], as_librarian)
    assert lent["user_id"] == borrower.id
    assert anon.post(return_path(loan["id"]), headers=as_librarian).status_code == 200
    # A user who does not exist has no loans to list, and none can be made for them.
    for missing in (999_999, 2**31, 2**64):
        listed = anon.get(loans_path(missing), headers=as_librarian)
        assert_problem(listed, 404, "NOT_FOUND")
        made = anon.post(
            loans_path(missing), json={"book_id": loan["book_id"]}, headers=as_librarian
        )
        assert_problem(made, 404, "NOT_FOUND")


@pytest.mark.parametrize("scopes", [("loans:admin",), ("admin",)])
def test_an_api_key_with_loans_admin_acts_as_a_librarian(
    anon: FlaskClient,
    issue_key: Callable[..., str],
    member: User,
    loan: dict[str, Any],
    scopes: tuple[str, ...],
) -> None:
    desk = {"X-API-KEY": issue_key(*scopes)}
    assert anon.get(loans_path(member.id), headers=desk).get_json()["total"] == 1
    assert anon.post(return_path(loan["id"]), headers=desk).status_code == 200
    assert lend(anon, member.id, loan["book_id"], desk)["user_id"] == member.id


def test_an_api_key_without_loans_admin_has_no_loans_of_its_own(
    anon: FlaskClient,
    issue_key: Callable[..., str],
    member: User,
    loan: dict[str, Any],
    book: dict[str, Any],
) -> None:
    key = {"X-API-KEY": issue_key("loans:read", "loans:write")}
    for method, path, body in _every_operation(member.id, loan["id"], book["id"]):
        assert_problem(anon.open(path, method=method, json=body, headers=key), 404, "NOT_FOUND")


def test_a_client_token_without_loans_admin_has_no_loans_of_its_own(
    app: APIFlask, anon: FlaskClient, member: User, loan: dict[str, Any]
) -> None:
    settings = app.extensions["shelf.settings"]
    token = tokens.issue_access_token(
        settings, subject="reporting", scope="loans:read", client_id="reporting"
    )
    program = {"Authorization": f"Bearer {token.token}"}
    assert_problem(anon.get(loans_path(member.id), headers=program), 404, "NOT_FOUND")
    assert_problem(anon.get(f"{LOANS}/{loan['id']}", headers=program), 404, "NOT_FOUND")


def test_an_api_key_without_loan_scopes_is_403(
    anon: FlaskClient, issue_key: Callable[..., str], member: User
) -> None:
    key = {"X-API-KEY": issue_key("books:write")}
    assert_problem(anon.get(loans_path(member.id), headers=key), 403, "FORBIDDEN")
