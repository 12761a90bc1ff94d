"""Authlib's grants on Shelf's tables: what Authlib asks of a client, a code and a refresh token.

Authlib runs the protocol (parameters, client authentication, PKCE, the error codes); these
classes answer its questions from the database through `shelf.oauth.service`. Every grant
accepts a confidential client (HTTP Basic or form secret) or a public one (`none`: its
client_id, or none at all for Shelf's own client); client credentials need a secret.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import grants  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749.errors import (  # type: ignore[import-untyped]
    InvalidGrantError,
    InvalidRequestError,
)
from authlib.oauth2.rfc7636.challenge import (  # type: ignore[import-untyped]
    CodeChallenge,
    compare_s256_code_challenge,
)
from flask import request

from shelf.auth.models import AuthorizationCode, OAuthClient, RefreshToken, User
from shelf.core.db import utcnow
from shelf.core.errors import UnauthorizedError
from shelf.extensions import db
from shelf.oauth import service, storage

__all__ = [
    "ANY_CLIENT",
    "Client",
    "ClientCredentialsGrant",
    "Code",
    "CodeGrant",
    "PasswordGrant",
    "Refresh",
    "RefreshGrant",
    "S256CodeChallenge",
]

SECRET_METHODS = ["client_secret_basic", "client_secret_post"]
ANY_CLIENT = [*SECRET_METHODS, "none"]
REFRESH_COOKIE = "shelf_refresh"


@dataclass(frozen=True)
class Client:
    """A client as Authlib sees it (its `ClientMixin`), from a stored `OAuthClient`."""

    client_id: str
    name: str
    secret_hash: str | None
    scopes: frozenset[str]
    redirect_uris: tuple[str, ...]
    grant_types: frozenset[str]

    @classmethod
    def of(cls, row: OAuthClient) -> Client:
        """The client `row` stores."""
        return cls(
            client_id=row.client_id,
            name=row.name,
            secret_hash=row.secret_hash,
            scopes=frozenset(row.scopes.split()),
            redirect_uris=tuple(row.redirect_uris.split()),
            grant_types=frozenset(row.grant_types.split()),
        )

    @property
    def public(self) -> bool:
        """No secret: it proves nothing but its id, and must use PKCE."""
        return self.secret_hash is None

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Only when there is no choice to make (RFC 6749, 3.1.2.3).
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        return service.grant_scope(self.scopes, scope, strict=True)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if self.secret_hash is None:
            return False
        return hmac.compare_digest(service.digest(client_secret), self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "none" if self.public else method in SECRET_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass(frozen=True)
class Code:
    """A stored authorization code as Authlib sees it."""

    row: AuthorizationCode

    @property
    def code_challenge(self) -> str | None:
        return self.row.code_challenge

    @property
    def code_challenge_method(self) -> str | None:
        return self.row.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope


@dataclass(frozen=True)
class Refresh:
    """A stored refresh token as Authlib sees it (also for revocation and introspection)."""

    row: RefreshToken

    def check_client(self, client: Client) -> bool:
        return self.row.client_id == client.client_id

    def get_scope(self) -> str:
        return self.row.scope

    def is_expired(self) -> bool:
        return self.row.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None or self.row.spent_at is not None


def _active_user(user_id: int) -> User | None:
    user = db.session.get(User, user_id)
    return user if user is not None and user.active else None


class S256CodeChallenge(CodeChallenge):  # type: ignore[misc]
    """PKCE (RFC 7636) with S256 alone (`plain` shows the verifier to whoever sees the
    challenge), required of public clients."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]
    CODE_CHALLENGE_METHODS: ClassVar[dict[str, Any]] = {"S256": compare_s256_code_challenge}

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") and grant.request.client.public:
            raise InvalidRequestError("A public client must send code_challenge (PKCE, S256).")
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Send code_challenge_method=S256; plain is not accepted.")
        super().validate_code_challenge(grant, redirect_uri)


class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    """The authorization code grant: codes stored as digests, spent once, for 10 minutes."""

    TOKEN_ENDPOINT_AUTH_METHODS = ANY_CLIENT

    def save_authorization_code(self, code: str, oauth_request: Any) -> None:
        data = oauth_request.payload.data
        storage.save_code(
            db.session,
            code=code,
            client_id=oauth_request.client.client_id,
            user_id=oauth_request.user.id,
            redirect_uri=oauth_request.payload.redirect_uri or "",
            scope=oauth_request.scope or "",
            challenge=data.get("code_challenge"),
            method=data.get("code_challenge_method"),
            nonce=data.get("nonce"),
        )

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        row = storage.find_code(db.session, code=code, client_id=client.client_id)
        return Code(row) if row is not None else None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        """Nothing: the code was spent with the token's issue (`server.save_token`)."""

    def authenticate_user(self, authorization_code: Code) -> User | None:
        return _active_user(authorization_code.row.user_id)


class PasswordGrant(grants.ResourceOwnerPasswordCredentialsGrant):  # type: ignore[misc]
    """The password grant: the sign-in (and its limits) of `service.authenticate`."""

    TOKEN_ENDPOINT_AUTH_METHODS = ANY_CLIENT

    def authenticate_user(self, username: str, password: str) -> User:
        try:
            return service.authenticate(
                db.session, email=username, password=password, client_ip=request.remote_addr
            )
        except UnauthorizedError as error:
            raise InvalidGrantError(service.SIGN_IN_FAILED) from error


class RefreshGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    """The refresh token grant: each token is rotated into a new one; presenting a spent one
    revokes every token rotated from the same sign-in. The token comes in the form, or in the
    refresh cookie (its CSRF check is the token endpoint's)."""

    TOKEN_ENDPOINT_AUTH_METHODS = ANY_CLIENT
    INCLUDE_NEW_REFRESH_TOKEN = True

    def _validate_request_token(self, client: Client) -> Refresh:
        token = self.request.form.get("refresh_token") or request.cookies.get(REFRESH_COOKIE)
        if not token:
            raise InvalidRequestError("Missing 'refresh_token' in request.")
        found = self.authenticate_refresh_token(token)
        if found is None or not found.check_client(client):
            raise InvalidGrantError("The refresh token is invalid, expired or revoked.")
        return found

    def authenticate_refresh_token(self, refresh_token: str) -> Refresh | None:
        row = storage.find_refresh_token(db.session, token=refresh_token)
        if row is None or row.revoked_at is not None:
            return None
        if row.spent_at is not None:  # used already: stolen, or replayed; end the sign-in
            storage.revoke_family(db.session, family=row.family, reason="reused")
            return None
        found = Refresh(row)
        return None if found.is_expired() or not _active_user(row.user_id) else found

    def authenticate_user(self, refresh_token: Refresh) -> User | None:
        return _active_user(refresh_token.row.user_id)

    def revoke_old_credential(self, refresh_token: Refresh) -> None:
        """Nothing: the old token was spent with the new one's issue (`server.save_token`)."""


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    """The client credentials grant, for confidential clients (secret by Basic or form)."""

    TOKEN_ENDPOINT_AUTH_METHODS = SECRET_METHODS
