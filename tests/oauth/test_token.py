"""The token endpoint: each grant, each RFC 6749 error as problem+json, and scopes."""

from __future__ import annotations

from apiflask import APIFlask
from flask.testing import FlaskClient

from shelf.auth import tokens
from tests.support.oauth import TOKEN, basic, password_grant, problem_error, register_client
from tests.support.people import make_user


def claims(app: APIFlask, access_token: str) -> dict[str, object]:
    return tokens.decode_access_token(app.extensions["shelf.settings"], access_token)


def test_the_password_grant_of_shelfs_own_client_gives_the_roles_scopes(
    app: APIFlask, anon: FlaskClient
) -> None:
    user = make_user(app, role="librarian", email="lib@example.org")
    answer = password_grant(anon, "Lib@Example.org ")
    assert answer.status_code == 200, answer.get_json()
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert set(body["scope"].split()) == {"books:write", "loans:read", "loans:write", "loans:admin"}
    assert body["refresh_token"]
    token_claims = claims(app, body["access_token"])
    assert token_claims["sub"] == str(user.id)
    assert token_claims["client_id"] == "shelf"
    # The token works as a bearer credential.
    books = anon.post(
        "/api/v1/books",
        json={"title": "Dune", "author": "Frank Herbert", "isbn": "9780441013593"},
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert books.status_code == 201


def test_the_scope_parameter_narrows_and_cannot_widen(app: APIFlask, anon: FlaskClient) -> None:
    make_user(app, email="m@example.org")
    narrowed = password_grant(anon, "m@example.org", scope="loans:read")
    assert narrowed.get_json()["scope"] == "loans:read"
    assert problem_error(password_grant(anon, "m@example.org", scope="books:write"), 400) == (
        "invalid_scope"
    )
    assert problem_error(password_grant(anon, "m@example.org", scope="nonsense"), 400) == (
        "invalid_scope"
    )


def test_an_admins_token_holds_admin(app: APIFlask, anon: FlaskClient) -> None:
    make_user(app, role="admin", email="a@example.org")
    assert password_grant(anon, "a@example.org").get_json()["scope"] == "admin"


def test_client_credentials_give_the_clients_own_scopes(app: APIFlask, anon: FlaskClient) -> None:
    client_id, secret = register_client(app, scopes=["books:write", "templates:read"])
    assert secret is not None
    form = {"grant_type": "client_credentials"}
    by_basic = anon.post(TOKEN, data=form, headers=basic(client_id, secret))
    assert by_basic.status_code == 200, by_basic.get_json()
    body = by_basic.get_json()
    assert body["scope"] == "books:write templates:read"
    assert "refresh_token" not in body
    assert claims(app, body["access_token"])["sub"] == client_id
    by_form = anon.post(
        TOKEN,
        data={**form, "client_id": client_id, "client_secret": secret, "scope": "books:write"},
    )
    assert by_form.get_json()["scope"] == "books:write"


def test_a_third_party_client_gets_its_scopes_within_the_users_role(
    app: APIFlask, anon: FlaskClient
) -> None:
    client_id, secret = register_client(
        app, scopes=["loans:read", "books:write"], grant_types=["password", "refresh_token"]
    )
    assert secret is not None
    make_user(app, email="m@example.org")  # a member: loans, not books
    answer = password_grant(anon, "m@example.org", client_id=client_id, client_secret=secret)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["scope"] == "loans:read"
    assert claims(app, answer.get_json()["access_token"])["client_id"] == client_id
    wider = password_grant(
        anon, "m@example.org", client_id=client_id, client_secret=secret, scope="loans:write"
    )
    assert problem_error(wider, 400) == "invalid_scope"


def test_a_deactivated_user_gets_no_token(app: APIFlask, anon: FlaskClient) -> None:
    make_user(app, email="gone@example.org", active=False)
    assert problem_error(password_grant(anon, "gone@example.org"), 400) == "invalid_grant"


def test_rfc_6749_errors_are_problems(app: APIFlask, anon: FlaskClient) -> None:
    make_user(app, email="m@example.org")
    client_id, secret = register_client(app)  # client credentials only
    assert secret is not None
    missing_password = anon.post(TOKEN, data={"grant_type": "password", "username": "x"})
    assert problem_error(missing_password, 400) == "invalid_request"
    wrong_secret = anon.post(
        TOKEN, data={"grant_type": "client_credentials"}, headers=basic(client_id, "wrong")
    )
    assert problem_error(wrong_secret, 401) == "invalid_client"
    assert wrong_secret.headers["WWW-Authenticate"].startswith("Basic ")
    unknown = anon.post(TOKEN, data={"grant_type": "password", "client_id": "nobody"})
    assert problem_error(unknown, 401) == "invalid_client"
    wrong_password = password_grant(anon, "m@example.org", password="not the password")
    assert problem_error(wrong_password, 400) == "invalid_grant"
    not_its_grant = password_grant(anon, "m@example.org", client_id=client_id, client_secret=secret)
    assert problem_error(not_its_grant, 400) == "unauthorized_client"
    public_credentials = anon.post(TOKEN, data={"grant_type": "client_credentials"})
    assert problem_error(public_credentials, 401) == "invalid_client"
    unsupported = anon.post(TOKEN, data={"grant_type": "implicit"})
    assert problem_error(unsupported, 400) == "unsupported_grant_type"
    too_wide = anon.post(
        TOKEN,
        data={"grant_type": "client_credentials", "scope": "admin"},
        headers=basic(client_id, secret),
    )
    assert problem_error(too_wide, 400) == "invalid_scope"


def test_the_token_endpoint_takes_forms_only(anon: FlaskClient) -> None:
    answer = anon.post(TOKEN, json={"grant_type": "password"})
    assert answer.status_code == 415
    assert answer.mimetype == "application/problem+json"


def test_malformed_credentials_and_plain_http_are_refused_as_problems(anon: FlaskClient) -> None:
    form = {"grant_type": "client_credentials"}
    for header in (
        "Basic ",
        "Basic !!!",
        "Basic //79/w==",
    ):  # no credentials; not base64; not UTF-8
        answer = anon.post(TOKEN, data=form, headers={"Authorization": header})
        assert problem_error(answer, 401) == "invalid_client"
    plain = anon.post(TOKEN, data=form, base_url="http://shelf.internal")
    assert problem_error(plain, 400) == "insecure_transport"
