"""OAuth 2 clients, codes and token requests for tests."""

from __future__ import annotations

import base64
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from apiflask import APIFlask
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from flask import request
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from shelf.auth.models import User
from shelf.extensions import db
from shelf.oauth import service
from shelf.oauth.schemas import ClientCreate
from shelf.oauth.server import authorization_server
from tests.support.people import PASSWORD

__all__ = [
    "CALLBACK",
    "REVOKE",
    "TOKEN",
    "VERIFIER",
    "basic",
    "issue_code",
    "password_grant",
    "problem_error",
    "register_client",
]

TOKEN = "/api/v1/auth/token"
REVOKE = "/api/v1/auth/revoke"
CALLBACK = "https://app.example/callback"
VERIFIER = secrets.token_urlsafe(48)


def register_client(app: APIFlask, **fields: Any) -> tuple[str, str | None]:
    """Register a client (`ClientCreate` fields; default: a confidential one for
    `books:write` by client credentials); its client_id and secret."""
    data = ClientCreate.model_validate({"name": "Test client", "scopes": ["books:write"], **fields})
    with app.app_context():
        issued = service.create_client(db.session, data=data)
        return issued.client.client_id, issued.secret


def basic(client_id: str, secret: str) -> dict[str, str]:
    """HTTP Basic client authentication (RFC 6749, 2.3.1)."""
    pair = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def password_grant(
    client: FlaskClient, email: str, password: str = PASSWORD, **more: str
) -> TestResponse:
    """A password grant for Shelf's own client (unless `more` names another)."""
    form = {"grant_type": "password", "username": email, "password": password, **more}
    return client.post(TOKEN, data=form)


def issue_code(
    app: APIFlask,
    user: User,
    client_id: str,
    *,
    scope: str,
    redirect_uri: str = CALLBACK,
    challenge: str | None = None,
    **more: str,
) -> str:
    """An authorization code `user` grants `client_id`, through the authorization server as
    the authorization page uses it (PKCE with VERIFIER unless `challenge` or `more` differ)."""
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": "s1",
        "code_challenge": challenge or create_s256_code_challenge(VERIFIER),
        "code_challenge_method": "S256",
        **more,
    }
    with app.test_request_context(f"/api/v1/auth/authorize?{urlencode(query)}"):
        grant = authorization_server.get_consent_grant(request, end_user=user)
        answer = authorization_server.create_authorization_response(
            request, grant_user=user, grant=grant
        )
    location = answer.headers["Location"]
    assert location.startswith(redirect_uri), location
    return parse_qs(urlsplit(location).query)["code"][0]


def problem_error(response: TestResponse, status: int) -> str:
    """The RFC 6749 `error` of a problem+json answer, after checking its form."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["code"] == body["error"].upper()
    assert body["error_description"] == body["detail"]
    return str(body["error"])
