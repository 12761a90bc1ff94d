"""The authorization code grant with PKCE (RFC 7636, S256 only)."""

from __future__ import annotations

import pytest
from apiflask import APIFlask
from authlib.oauth2 import OAuth2Error
from flask.testing import FlaskClient

from shelf.extensions import db
from shelf.oauth import storage
from tests.support.oauth import (
    CALLBACK,
    TOKEN,
    VERIFIER,
    basic,
    issue_code,
    problem_error,
    register_client,
)
from tests.support.people import make_user

READING_APP = {"public": True, "scopes": ["loans:read", "books:write"], "redirect_uris": [CALLBACK]}


def exchange(anon: FlaskClient, client_id: str, code: str, **more: str) -> object:
    form = {"grant_type": "authorization_code", "code": code, "client_id": client_id}
    return anon.post(TOKEN, data={**form, "redirect_uri": CALLBACK, **more})


def test_a_public_client_exchanges_its_code_with_the_verifier(
    app: APIFlask, anon: FlaskClient
) -> None:
    client_id, _ = register_client(app, **READING_APP)
    user = make_user(app)  # a member: loans:read, not books:write
    code = issue_code(app, user, client_id, scope="loans:read books:write")
    answer = exchange(anon, client_id, code, code_verifier=VERIFIER)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["scope"] == "loans:read"
    assert body["refresh_token"]
    again = exchange(anon, client_id, code, code_verifier=VERIFIER)
    assert problem_error(again, 400) == "invalid_grant"


def test_a_confidential_client_authenticates_at_the_token_endpoint(
    app: APIFlask, anon: FlaskClient
) -> None:
    client_id, secret = register_client(
        app, scopes=["loans:read"], redirect_uris=[CALLBACK], grant_types=["authorization_code"]
    )
    assert secret is not None
    code = issue_code(app, make_user(app), client_id, scope="loans:read")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    answer = anon.post(
        TOKEN, data={**form, "code_verifier": VERIFIER}, headers=basic(client_id, secret)
    )
    assert answer.status_code == 200, answer.get_json()
    assert "refresh_token" not in answer.get_json()  # not registered for refresh_token


def test_pkce_failures(app: APIFlask, anon: FlaskClient) -> None:
    client_id, _ = register_client(app, **READING_APP)
    user = make_user(app)
    missing = exchange(anon, client_id, issue_code(app, user, client_id, scope="loans:read"))
    assert problem_error(missing, 400) == "invalid_request"
    wrong = exchange(
        anon,
        client_id,
        issue_code(app, user, client_id, scope="loans:read"),
        code_verifier="x" * 43,
    )
    assert problem_error(wrong, 400) == "invalid_grant"
    other_uri = exchange(
        anon,
        client_id,
        issue_code(app, user, client_id, scope="loans:read"),
        code_verifier=VERIFIER,
        redirect_uri="https://app.example/other",
    )
    assert problem_error(other_uri, 400) == "invalid_grant"


@pytest.mark.parametrize(
    "parameters",
    [
        {"code_challenge_method": "plain", "challenge": "p" * 43},
        {"code_challenge": "", "code_challenge_method": ""},  # a public client without PKCE
    ],
)
def test_plain_pkce_and_no_pkce_are_refused_at_authorization(
    app: APIFlask, parameters: dict[str, str]
) -> None:
    client_id, _ = register_client(app, **READING_APP)
    with pytest.raises(OAuth2Error) as refused:
        issue_code(app, make_user(app), client_id, scope="loans:read", **parameters)
    assert refused.value.error == "invalid_request"


def test_a_public_clients_code_without_a_challenge_is_refused(
    app: APIFlask, anon: FlaskClient
) -> None:
    client_id, _ = register_client(app, **READING_APP)
    user = make_user(app)
    with app.app_context():
        storage.save_code(
            db.session, code="c" * 43, client_id=client_id, user_id=user.id, redirect_uri=CALLBACK,
            scope="loans:read", challenge=None, method=None, nonce=None,
        )  # fmt: skip
    assert problem_error(exchange(anon, client_id, "c" * 43), 400) == "invalid_request"


def test_a_code_is_bound_to_its_client(app: APIFlask, anon: FlaskClient) -> None:
    client_id, _ = register_client(app, **READING_APP)
    other_id, _ = register_client(app, **READING_APP)
    code = issue_code(app, make_user(app), client_id, scope="loans:read")
    answer = exchange(anon, other_id, code, code_verifier=VERIFIER)
    assert problem_error(answer, 400) == "invalid_grant"
