"""Registration: anyone may open an account, an active member, with a password that passes the
policy; the password is stored only as its argon2id hash and never shown."""

from __future__ import annotations

from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import select

from shelf.auth.models import User
from shelf.auth.passwords import verify_password
from shelf.extensions import db
from tests.support.checks import assert_problem
from tests.support.people import PASSWORD

USERS = "/api/v1/users"
SHOWN = {"id", "email", "full_name", "role", "active", "created_at", "updated_at"}


def new_user(**fields: Any) -> dict[str, Any]:
    return {"email": "ada@example.com", "password": PASSWORD, "full_name": "Ada", **fields}


def test_registering_gives_an_active_member_and_its_location(
    anon: FlaskClient, app: APIFlask
) -> None:
    response = anon.post(USERS, json=new_user(email="Ada.L@Example.COM"))
    assert response.status_code == 201
    user = response.get_json()
    assert user.keys() == SHOWN
    assert user["email"] == "ada.l@example.com"
    assert (user["role"], user["active"]) == ("member", True)
    assert response.headers["Location"] == f"{USERS}/{user['id']}"
    assert PASSWORD not in response.get_data(as_text=True)
    with app.app_context():
        stored = db.session.scalars(select(User)).one()
        assert stored.password_hash.startswith("$argon2id$")
        assert verify_password(stored.password_hash, PASSWORD)[0]


def test_credentials_are_not_needed_but_any_valid_ones_may_be_sent(client: FlaskClient) -> None:
    assert client.post(USERS, json=new_user()).status_code == 201


def test_a_taken_email_is_409_whatever_its_case(anon: FlaskClient) -> None:
    assert anon.post(USERS, json=new_user()).status_code == 201
    response = anon.post(USERS, json=new_user(email="ADA@example.com", full_name="Other"))
    body = assert_problem(response, 409, "CONFLICT")
    assert body["details"][0]["field"] == "email"
    assert "Other" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"password": "short pass"}, "password"),
        ({"password": "qwerty123456"}, "password"),  # in the breached-password list
        ({"password": "QWERTY123456"}, "password"),
        ({"password": "p" * 257}, "password"),
        ({"password": 123456789012345}, "password"),
        ({"email": "not an email"}, "email"),
        ({"email": "ada@localhost"}, "email"),
        ({"email": "a" * 250 + "@example.com"}, "email"),
        ({"full_name": "   "}, "full_name"),
        ({"full_name": "n" * 201}, "full_name"),
        ({"role": "admin"}, "role"),
        ({"id": 1}, "id"),
        ({"active": False}, "active"),
        ({"created_at": "2026-01-01T00:00:00Z"}, "created_at"),
        ({"password_hash": "$argon2id$v=19$m=65536,t=3,p=4$x$y"}, "password_hash"),
        ({"nickname": "ada"}, "nickname"),
    ],
)
def test_invalid_or_forbidden_fields_are_422_naming_the_field(
    anon: FlaskClient, fields: dict[str, Any], field: str
) -> None:
    response = anon.post(USERS, json=new_user(**fields))
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    assert field in [detail["field"] for detail in body["details"]]
    assert all(detail["hint"] for detail in body["details"])


@pytest.mark.parametrize("missing", ["email", "password", "full_name"])
def test_each_field_is_required(anon: FlaskClient, missing: str) -> None:
    body = new_user()
    del body[missing]
    problem = assert_problem(anon.post(USERS, json=body), 422, "VALIDATION_FAILED")
    assert problem["details"][0]["field"] == missing


def test_nothing_is_stored_when_the_password_is_refused(anon: FlaskClient, app: APIFlask) -> None:
    anon.post(USERS, json=new_user(password="qwerty123456"))
    with app.app_context():
        assert db.session.scalars(select(User)).all() == []


def test_a_retried_registration_with_its_idempotency_key_is_replayed(
    anon: FlaskClient, app: APIFlask
) -> None:
    headers = {"Idempotency-Key": "b7c1e9e0-2f1e-4d0a-9d51-6a1f8f0c2b33"}
    first = anon.post(USERS, json=new_user(), headers=headers)
    again = anon.post(USERS, json=new_user(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    with app.app_context():
        assert len(db.session.scalars(select(User)).all()) == 1
