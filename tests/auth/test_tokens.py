"""Access tokens: what a bearer request is, and every forged, stale or misdirected token refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from apiflask import APIFlask
from cryptography.hazmat.primitives import serialization
from joserfc import jwt
from joserfc.jwk import ECKey

from shelf.auth import tokens
from shelf.auth.revocation import Revocations, revoke_access_token
from shelf.config import Settings
from shelf.extensions import db
from tests.support.people import bearer_headers, make_user

BOOK = {"title": "Tokens", "author": "A. Writer", "copies": 1}
OTHER_SECRET = "another-secret-of-at-least-thirty-two-characters"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(app: APIFlask, **changes: Any) -> dict[str, Any]:
    settings = app.extensions["shelf.settings"]
    now = int(time.time())
    claims = {
        "iss": settings.oauth_issuer,
        "aud": settings.oauth_audience,
        "sub": "1",
        "client_id": "shelf",
        "scope": "books:write",
        "iat": now,
        "nbf": now,
        "exp": now + 900,
        "jti": "j" + str(now),
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _signed(app: APIFlask, claims: dict[str, Any], secret: str | None = None) -> str:
    settings = app.extensions["shelf.settings"]
    key = tokens.keys_of(settings).signing if secret is None else _key_of(secret)
    return jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key, algorithms=["ES256"])


def _key_of(secret: str) -> ECKey:
    return tokens.keys_of(_settings_with(secret)).signing


def _settings_with(*secrets: str) -> Settings:
    return Settings(oauth_signing_keys=list(secrets))


def _status(app: APIFlask, token: str) -> int:
    response = app.test_client().post(
        "/api/v1/books", json=BOOK, headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code


def test_a_valid_token_acts_with_its_scopes(app: APIFlask) -> None:
    librarian = make_user(app, role="librarian")
    response = app.test_client().post(
        "/api/v1/books", json=BOOK, headers=bearer_headers(app, librarian)
    )
    assert response.status_code == 201, response.json
    assert response.headers["Cache-Control"] == "no-store"


def test_a_token_without_the_scope_is_403(app: APIFlask) -> None:
    member = make_user(app)
    response = app.test_client().post(
        "/api/v1/books", json=BOOK, headers=bearer_headers(app, member)
    )
    assert response.status_code == 403
    assert "books:write" in response.json["detail"]


@pytest.mark.parametrize(
    "forge",
    [
        "alg_none",
        "hs256_with_the_public_key",
        "another_key",
        "expired",
        "not_yet_valid",
        "wrong_audience",
        "wrong_issuer",
        "tampered_claims",
        "no_jti",
        "garbage",
    ],
)
def test_forged_stale_or_misdirected_tokens_are_401(app: APIFlask, forge: str) -> None:
    now = int(time.time())
    if forge == "alg_none":
        token = ".".join(
            [
                _b64(json.dumps({"alg": "none"}).encode()),
                _b64(json.dumps(_claims(app)).encode()),
                "",
            ]
        )
    elif forge == "hs256_with_the_public_key":
        signing = tokens.keys_of(app.extensions["shelf.settings"]).signing
        public_pem = signing.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        header = {"alg": "HS256", "kid": signing.kid, "typ": "JWT"}
        head = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(_claims(app)).encode())
        mac = hmac.new(public_pem, head.encode(), hashlib.sha256).digest()
        token = head + "." + _b64(mac)
    elif forge == "another_key":
        token = _signed(app, _claims(app), secret=OTHER_SECRET)
    elif forge == "expired":
        token = _signed(app, _claims(app, iat=now - 2000, nbf=now - 2000, exp=now - 1000))
    elif forge == "not_yet_valid":
        token = _signed(app, _claims(app, nbf=now + 600))
    elif forge == "wrong_audience":
        token = _signed(app, _claims(app, aud="another-service"))
    elif forge == "wrong_issuer":
        token = _signed(app, _claims(app, iss="https://evil.example"))
    elif forge == "tampered_claims":
        head, _, signature = _signed(app, _claims(app, scope="loans:read")).split(".")
        token = ".".join([head, _b64(json.dumps(_claims(app, scope="admin")).encode()), signature])
    elif forge == "no_jti":
        token = _signed(app, _claims(app, jti=None))
    else:
        token = "not.a.token"
    make_user(app, role="librarian")
    assert _status(app, token) == 401


def test_a_forged_token_is_refused_even_on_public_reads(app: APIFlask) -> None:
    response = app.test_client().get(
        "/api/v1/books", headers={"Authorization": "Bearer not.a.token"}
    )
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"


def test_a_key_and_a_token_together_are_401(app: APIFlask, issue_key: Any) -> None:
    librarian = make_user(app, role="librarian")
    headers = {**bearer_headers(app, librarian), "X-API-KEY": issue_key("books:write")}
    response = app.test_client().post("/api/v1/books", json=BOOK, headers=headers)
    assert response.status_code == 401


def test_rotation_keeps_old_tokens_while_their_key_is_listed(
    make_app: Any, database_url: str
) -> None:
    old, new = "old-secret-of-at-least-thirty-two-characters!", OTHER_SECRET
    before = make_app(oauth_signing_keys=[old])
    librarian = make_user(before, role="librarian")
    issued = tokens.issue_access_token(
        before.extensions["shelf.settings"], subject=str(librarian.id), scope="books:write",
        client_id="shelf",
    )  # fmt: skip
    during = make_app(oauth_signing_keys=[new, old])  # the new key signs, the old one verifies
    assert _status(during, issued.token) == 201
    fresh = tokens.issue_access_token(
        during.extensions["shelf.settings"], subject=str(librarian.id), scope="books:write",
        client_id="shelf",
    )  # fmt: skip
    assert json.loads(base64.urlsafe_b64decode(fresh.token.split(".")[0] + "=="))["kid"] == (
        tokens.keys_of(during.extensions["shelf.settings"]).signing.kid
    )
    after = make_app(oauth_signing_keys=[new])  # the old key is dropped
    assert _status(after, issued.token) == 401
    assert _status(after, fresh.token) == 201


def test_jwks_lists_every_verifying_key_and_no_private_part() -> None:
    settings = _settings_with(OTHER_SECRET, "old-secret-of-at-least-thirty-two-characters!")
    keys = tokens.jwks(settings)["keys"]
    assert [key["kid"] for key in keys] == [
        key.kid for key in tokens.keys_of(settings).verifying.keys
    ]
    assert all(key["alg"] == "ES256" and "d" not in key for key in keys)


def test_a_revoked_token_is_refused_once_another_process_refreshes(app: APIFlask) -> None:
    librarian = make_user(app, role="librarian")
    issued = tokens.issue_access_token(
        app.extensions["shelf.settings"], subject=str(librarian.id), scope="books:write",
        client_id="shelf",
    )  # fmt: skip
    now = [100.0]
    elsewhere = Revocations(clock=lambda: now[0])  # another worker's view, with its own clock
    with app.app_context():
        assert not elsewhere.is_revoked(issued.jti, engine=db.reads)
        revoke_access_token(db.session, jti=issued.jti, expires_at=issued.expires_at)
        revoke_access_token(db.session, jti=issued.jti, expires_at=issued.expires_at)  # again
        assert not elsewhere.is_revoked(issued.jti, engine=db.reads)  # read 0 s ago
        now[0] += 0.5  # REFRESH_SECONDS later it has read the table again
        assert elsewhere.is_revoked(issued.jti, engine=db.reads)
    assert _status(app, issued.token) == 401  # this process knew at once


def test_a_client_token_is_a_client_principal(app: APIFlask) -> None:
    settings = app.extensions["shelf.settings"]
    issued = tokens.issue_access_token(
        settings, subject="reporting", scope="books:write", client_id="reporting"
    )
    principal = tokens.principal_of(tokens.decode_access_token(settings, issued.token))
    assert (principal.kind, principal.subject, principal.user_id) == (
        "client",
        "client:reporting",
        None,
    )
