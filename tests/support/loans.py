"""Loans for tests: the paths, lending and returning through the API, a caller's principal."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from shelf.auth.models import User
from shelf.core.principal import ROLE_SCOPES, Principal

__all__ = ["LOANS", "lend", "loans_path", "principal_of", "return_path"]

LOANS = "/api/v1/loans"


def loans_path(user_id: int) -> str:
    """The collection of a user's loans."""
    return f"/api/v1/users/{user_id}/loans"


def return_path(loan_id: int) -> str:
    """Where a loan is returned."""
    return f"{LOANS}/{loan_id}/return"


def lend(
    client: FlaskClient, user_id: int, book_id: int, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    """POST a loan of `book_id` to `user_id` with `headers`' credentials; the created loan."""
    response = client.post(
        loans_path(user_id), json={"book_id": book_id, **fields}, headers=headers
    )
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def principal_of(user: User) -> Principal:
    """The principal a bearer token of `user` (its role's scopes) stands for."""
    return Principal(
        kind="user",
        subject=str(user.id),
        name=user.email,
        scopes=ROLE_SCOPES[user.role],
        user_id=user.id,
    )
