"""/users/me: a signed-in person reads and changes their own account with a bearer token; other
credentials have no account (403), and no credentials are 401."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient

from shelf.auth import tokens
from shelf.auth.models import RefreshToken, User
from shelf.auth.passwords import verify_password
from shelf.core.db import utcnow
from shelf.extensions import db
from tests.support.checks import assert_problem
from tests.support.people import PASSWORD, bearer_headers, make_user

ME = "/api/v1/users/me"
NEW_PASSWORD = "a much longer passphrase"


@pytest.fixture
def member(app: APIFlask) -> User:
    return make_user(app, email="ada@example.com", full_name="Ada")


@pytest.fixture
def signed_in(app: APIFlask, member: User) -> dict[str, str]:
    return bearer_headers(app, member)


def stored(app: APIFlask, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        db.session.expunge(user)
        return user


def add_refresh_token(app: APIFlask, user_id: int) -> int:
    with app.app_context():
        token = RefreshToken(
            token_hash=f"hash-{user_id}",
            family="family",
            user_id=user_id,
            client_id=tokens.FIRST_PARTY_CLIENT_ID,
            scope="loans:read",
            expires_at=utcnow() + timedelta(days=1),
        )
        db.session.add(token)
        db.session.commit()
        return token.id


def refresh_token_revoked(app: APIFlask, token_id: int) -> bool:
    with app.app_context():
        token = db.session.get(RefreshToken, token_id)
        assert token is not None
        return token.revoked_at is not None


def test_a_signed_in_person_reads_their_own_account(
    anon: FlaskClient, member: User, signed_in: dict[str, str]
) -> None:
    response = anon.get(ME, headers=signed_in)
    assert response.status_code == 200
    assert response.get_json()["id"] == member.id
    assert response.get_json()["email"] == "ada@example.com"
    assert "password_hash" not in response.get_json()
    assert response.headers["ETag"]
    assert response.headers["Cache-Control"] == "no-store"
    again = anon.get(ME, headers={**signed_in, "If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_anonymous_is_401(anon: FlaskClient) -> None:
    assert_problem(anon.get(ME), 401, "UNAUTHORIZED")
    assert_problem(anon.patch(ME, json={"full_name": "X"}), 401, "UNAUTHORIZED")


def test_an_invalid_token_is_401(anon: FlaskClient) -> None:
    response = anon.get(ME, headers={"Authorization": "Bearer not.a.token"})
    assert_problem(response, 401, "UNAUTHORIZED")


def test_an_api_key_has_no_account(client: FlaskClient) -> None:
    body = assert_problem(client.get(ME), 403, "FORBIDDEN")
    assert "API key" in body["detail"]
    assert_problem(client.patch(ME, json={"full_name": "X"}), 403, "FORBIDDEN")


def test_a_clients_own_token_has_no_account(anon: FlaskClient, app: APIFlask) -> None:
    token = tokens.issue_access_token(
        app.extensions["shelf.settings"], subject="reporter", scope="admin", client_id="reporter"
    )
    response = anon.get(ME, headers={"Authorization": f"Bearer {token.token}"})
    assert_problem(response, 403, "FORBIDDEN")


def test_changing_name_and_email(
    anon: FlaskClient, app: APIFlask, member: User, signed_in: dict[str, str]
) -> None:
    response = anon.patch(
        ME, json={"full_name": "Ada King", "email": "Ada.King@Example.com"}, headers=signed_in
    )
    assert response.status_code == 200
    changed = response.get_json()
    assert (changed["full_name"], changed["email"]) == ("Ada King", "ada.king@example.com")
    assert changed["role"] == "member"
    assert stored(app, member.id).email == "ada.king@example.com"


def test_an_email_taken_by_another_account_is_409(
    anon: FlaskClient, app: APIFlask, signed_in: dict[str, str]
) -> None:
    make_user(app, email="grace@example.com")
    response = anon.patch(ME, json={"email": "GRACE@example.com"}, headers=signed_in)
    assert assert_problem(response, 409, "CONFLICT")["details"][0]["field"] == "email"


def test_a_new_password_with_the_current_one(
    anon: FlaskClient, app: APIFlask, member: User, signed_in: dict[str, str]
) -> None:
    refresh = add_refresh_token(app, member.id)
    body = {"password": NEW_PASSWORD, "current_password": PASSWORD}
    response = anon.patch(ME, json=body, headers=signed_in)
    assert response.status_code == 200
    assert NEW_PASSWORD not in response.get_data(as_text=True)
    user = stored(app, member.id)
    assert verify_password(user.password_hash, NEW_PASSWORD)[0]
    assert not verify_password(user.password_hash, PASSWORD)[0]
    assert refresh_token_revoked(app, refresh)  # signed-in devices sign in again


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": NEW_PASSWORD}, "current_password"),
        ({"password": NEW_PASSWORD, "current_password": "not the password"}, "current_password"),
        ({"password": "too short", "current_password": PASSWORD}, "password"),
        ({"password": "qwerty123456", "current_password": PASSWORD}, "password"),
        ({"password": None, "current_password": PASSWORD}, "password"),
        ({"role": "admin"}, "role"),
        ({"active": False}, "active"),
        ({"id": 99}, "id"),
        ({"updated_at": "2026-01-01T00:00:00Z"}, "updated_at"),
        ({"email": "nope"}, "email"),
        ({"full_name": ""}, "full_name"),
        ({"full_name": None}, "full_name"),
    ],
)
def test_refused_changes_are_422_and_change_nothing(
    anon: FlaskClient,
    app: APIFlask,
    member: User,
    signed_in: dict[str, str],
    body: dict[str, Any],
    field: str,
) -> None:
    refresh = add_refresh_token(app, member.id)
    response = anon.patch(ME, json=body, headers=signed_in)
    problem = assert_problem(response, 422, "VALIDATION_FAILED")
    assert field in [detail["field"] for detail in problem["details"]]
    user = stored(app, member.id)
    assert verify_password(user.password_hash, PASSWORD)[0]
    assert (user.role, user.active, user.full_name) == ("member", True, "Ada")
    assert not refresh_token_revoked(app, refresh)


def test_a_stale_if_match_is_412(anon: FlaskClient, signed_in: dict[str, str]) -> None:
    etag = anon.get(ME, headers=signed_in).headers["ETag"]
    assert anon.patch(ME, json={"full_name": "One"}, headers=signed_in).status_code == 200
    stale = {**signed_in, "If-Match": etag}
    response = anon.patch(ME, json={"full_name": "Two"}, headers=stale)
    assert_problem(response, 412, "PRECONDITION_FAILED")
    fresh = {**signed_in, "If-Match": anon.get(ME, headers=signed_in).headers["ETag"]}
    assert anon.patch(ME, json={"full_name": "Two"}, headers=fresh).status_code == 200


def test_a_deactivated_account_is_403_though_its_token_still_runs(
    anon: FlaskClient, app: APIFlask
) -> None:
    user = make_user(app, active=False)
    headers = bearer_headers(app, user)
    assert (
        "deactivated" in assert_problem(anon.get(ME, headers=headers), 403, "FORBIDDEN")["detail"]
    )
    response = anon.patch(ME, json={"full_name": "Back"}, headers=headers)
    assert_problem(response, 403, "FORBIDDEN")
    assert stored(app, user.id).full_name == "Test User"
