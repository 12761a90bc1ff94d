"""Revocation (RFC 7009) and introspection (RFC 7662) on Authlib's endpoints, the public
clients' authentication, and the tokens both endpoints look up.

A token is an access token (a JWT: its claims) or a refresh token (a stored row). Revoking an
access token refuses it everywhere within a second (`shelf.auth.revocation`); revoking a
refresh token revokes every token rotated from the same sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from authlib.oauth2.rfc6749.authenticate_client import (  # type: ignore[import-untyped]
    authenticate_client_secret_basic,
)
from authlib.oauth2.rfc7009 import RevocationEndpoint  # type: ignore[import-untyped]
from authlib.oauth2.rfc7662 import IntrospectionEndpoint  # type: ignore[import-untyped]
from flask import current_app

from shelf.audit import service as audit_service
from shelf.auth import revocation, tokens
from shelf.extensions import db
from shelf.oauth import storage
from shelf.oauth.grants import ANY_CLIENT, SECRET_METHODS, Client, Refresh

__all__ = [
    "Access",
    "Introspection",
    "Revocation",
    "authenticate_basic",
    "authenticate_public",
    "find_token",
    "revoke",
    "revoke_held",
]


@dataclass(frozen=True)
class Access:
    """A valid access token, by its verified claims."""

    claims: dict[str, Any]

    def check_client(self, client: Client) -> bool:
        return bool(self.claims["client_id"] == client.client_id)

    def get_scope(self) -> str:
        return str(self.claims["scope"])

    def is_expired(self) -> bool:
        return False  # verified just now, expiry included

    def is_revoked(self) -> bool:
        return revocation.revocations.is_revoked(self.claims["jti"], engine=db.reads)


def authenticate_basic(query_client: Any, oauth_request: Any) -> Client | None:
    """Authlib's `client_secret_basic`, a malformed Authorization header (no credentials, not
    UTF-8) failing the method rather than the request."""
    try:
        client: Client | None = authenticate_client_secret_basic(query_client, oauth_request)
    except ValueError:
        return None
    return client


def authenticate_public(query_client: Any, oauth_request: Any) -> Client | None:
    """Authlib's `none` method: a public client by its client_id alone. A request that names
    no client and sends no credentials is Shelf's own client's (`tokens.FIRST_PARTY_CLIENT_ID`)."""
    if oauth_request.payload.data.get("client_secret"):
        return None
    client_id = oauth_request.payload.client_id
    if client_id is None:
        if oauth_request.headers.get("Authorization"):
            return None
        client_id = tokens.FIRST_PARTY_CLIENT_ID
    client: Client | None = query_client(client_id)
    return client


def find_token(token: str) -> Access | Refresh | None:
    """The valid access token or the stored refresh token `token` is, or None."""
    if token.count(".") == 2:
        try:
            return Access(
                tokens.decode_access_token(current_app.extensions["shelf.settings"], token)
            )
        except tokens.InvalidTokenError:
            return None
    row = storage.find_refresh_token(db.session, token=token)
    return Refresh(row) if row is not None else None


def _subject(token: Access | Refresh) -> str:
    return str(token.claims["sub"]) if isinstance(token, Access) else str(token.row.user_id)


def revoke(token: Access | Refresh) -> None:
    """Revoke an access token, or the whole family of a refresh token."""
    if isinstance(token, Access):
        expires_at = datetime.fromtimestamp(token.claims["exp"], UTC)
        # Recorded in the revocation's transaction (a token revoked already records nothing).
        audit_service.record(
            db.session, action="access_token.revoke", target_type="access_token",
            target_id=token.claims["jti"], changes={"sub": token.claims["sub"]},
        )  # fmt: skip
        revocation.revoke_access_token(db.session, jti=token.claims["jti"], expires_at=expires_at)
    else:
        storage.revoke_family(db.session, family=token.row.family, reason="revoked")


def revoke_held(bearer: str, token: str) -> None:
    """Revoke `token` (the bearer access token itself, or another) for the holder of `bearer`:
    an access or refresh token of the same subject; any other token is left alone, as RFC 7009
    answers for a token it does not know."""
    holder = find_token(bearer)
    target = find_token(token)
    if isinstance(holder, Access) and target is not None and _subject(target) == _subject(holder):
        revoke(target)


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    """RFC 7009 for a client by its own credentials (a public one by its client_id): tokens
    issued to it."""

    CLIENT_AUTH_METHODS = ANY_CLIENT

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return find_token(token_string)

    def revoke_token(self, token: Access | Refresh, oauth_request: Any) -> None:
        revoke(token)


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    """RFC 7662 for confidential clients: any access token (they are signed for every
    resource server), and refresh tokens issued to the client asking."""

    CLIENT_AUTH_METHODS = SECRET_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return find_token(token_string)

    def check_permission(self, token: Access | Refresh, client: Client, oauth_request: Any) -> bool:
        return isinstance(token, Access) or token.check_client(client)

    def introspect_token(self, token: Access | Refresh) -> dict[str, Any]:
        if isinstance(token, Access):
            claims = token.claims
            fields = ("scope", "client_id", "sub", "exp", "iat", "nbf", "iss", "aud", "jti")
            return {"active": True, "token_type": "Bearer"} | {
                name: claims[name] for name in fields if name in claims
            }
        row = token.row
        return {
            "active": True,
            "token_type": "refresh_token",
            "scope": row.scope,
            "client_id": row.client_id,
            "sub": str(row.user_id),
            "exp": int(row.expires_at.timestamp()),
            "iat": int(row.issued_at.timestamp()),
        }
