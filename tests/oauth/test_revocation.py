"""Revocation (RFC 7009) and introspection (RFC 7662)."""

from __future__ import annotations

from collections.abc import Callable

from apiflask import APIFlask
from flask.testing import FlaskClient

from shelf.auth.revocation import revocations
from tests.support.oauth import REVOKE, TOKEN, basic, password_grant, problem_error, register_client
from tests.support.people import make_user

INTROSPECT = "/api/v1/auth/introspect"
LOANS = "/api/v1/users/{}/loans"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_user_revokes_the_access_token_it_holds_everywhere(
    app: APIFlask, anon: FlaskClient, make_app: Callable[..., APIFlask]
) -> None:
    user = make_user(app, email="m@example.org")
    access = password_grant(anon, "m@example.org").get_json()["access_token"]
    other = make_app()  # another instance on the same database
    assert other.test_client().get(LOANS.format(user.id), headers=bearer(access)).status_code == 200
    assert anon.post(REVOKE, data={"token": access}, headers=bearer(access)).status_code == 200
    assert anon.get(LOANS.format(user.id), headers=bearer(access)).status_code == 401
    revocations.clear()  # as another process knows it: from the database, on its next look
    assert other.test_client().get(LOANS.format(user.id), headers=bearer(access)).status_code == 401


def test_a_user_revokes_its_refresh_token_with_its_access_token(
    app: APIFlask, anon: FlaskClient
) -> None:
    make_user(app, email="m@example.org")
    make_user(app, email="n@example.org")
    mine = password_grant(anon, "m@example.org").get_json()
    theirs = password_grant(anon, "n@example.org").get_json()
    answer = anon.post(
        REVOKE, data={"token": theirs["refresh_token"]}, headers=bearer(mine["access_token"])
    )
    assert answer.status_code == 200  # not the caller's: left alone
    refreshed = anon.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": theirs["refresh_token"]}
    )
    assert refreshed.status_code == 200
    answer = anon.post(
        REVOKE, data={"token": mine["refresh_token"]}, headers=bearer(mine["access_token"])
    )
    assert answer.status_code == 200
    refused = anon.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": mine["refresh_token"]}
    )
    assert problem_error(refused, 400) == "invalid_grant"


def test_a_public_client_revokes_by_the_token_alone(app: APIFlask, anon: FlaskClient) -> None:
    make_user(app, email="m@example.org")
    tokens = password_grant(anon, "m@example.org").get_json()
    assert anon.post(REVOKE, data={"token": tokens["refresh_token"]}).status_code == 200
    assert anon.post(REVOKE, data={"token": "unknown"}).status_code == 200  # RFC 7009, 2.2
    refused = anon.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert problem_error(refused, 400) == "invalid_grant"
    missing = anon.post(REVOKE, data={})
    assert missing.status_code == 422
    assert missing.get_json()["details"][0]["field"] == "token"


def test_a_client_revokes_its_own_token_by_its_credentials(
    app: APIFlask, anon: FlaskClient
) -> None:
    client_id, secret = register_client(app)
    assert secret is not None
    credentials = basic(client_id, secret)
    access = anon.post(TOKEN, data={"grant_type": "client_credentials"}, headers=credentials)
    token = access.get_json()["access_token"]
    answer = anon.post(REVOKE, data={"token": token}, headers=credentials)
    assert answer.status_code == 200
    created = anon.post(
        "/api/v1/books",
        json={"title": "Dune", "author": "Frank Herbert", "isbn": "9780441013593"},
        headers=bearer(token),
    )
    assert created.status_code == 401


def test_introspection_for_confidential_clients(app: APIFlask, anon: FlaskClient) -> None:
    make_user(app, email="m@example.org")
    client_id, secret = register_client(app)
    assert secret is not None
    tokens = password_grant(anon, "m@example.org").get_json()
    credentials = basic(client_id, secret)
    active = anon.post(INTROSPECT, data={"token": tokens["access_token"]}, headers=credentials)
    assert active.status_code == 200
    body = active.get_json()
    assert body["active"] is True
    assert body["client_id"] == "shelf"
    assert body["scope"] == "loans:read loans:write"
    # A refresh token issued to another client is not this one's to see.
    foreign = anon.post(INTROSPECT, data={"token": tokens["refresh_token"]}, headers=credentials)
    assert foreign.get_json() == {"active": False}
    anon.post(
        REVOKE, data={"token": tokens["access_token"]}, headers=bearer(tokens["access_token"])
    )
    revoked = anon.post(INTROSPECT, data={"token": tokens["access_token"]}, headers=credentials)
    assert revoked.get_json() == {"active": False}
    garbage = anon.post(INTROSPECT, data={"token": "a.b.c"}, headers=credentials)
    assert garbage.get_json() == {"active": False}
    public = anon.post(INTROSPECT, data={"token": tokens["access_token"], "client_id": "shelf"})
    assert problem_error(public, 401) == "invalid_client"
    anonymous = anon.post(INTROSPECT, data={"token": tokens["access_token"]})
    assert problem_error(anonymous, 401) == "invalid_client"
