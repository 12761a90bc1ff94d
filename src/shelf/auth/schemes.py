"""How a request proves who it is: an API key, or an OAuth 2 access token.

The caller is identified once per request, before rate limiting, from the `X-API-KEY` header
or an `Authorization: Bearer` access token (a JWT, `shelf.auth.tokens`), and kept in the
request state. A request may send one credential, not both. Routes declare what they need with
APIFlask's `auth_required(auth, roles=[SCOPE])`, which also documents the security requirement
in OpenAPI.
`admin` grants every scope.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apiflask import APIFlask, APIKeyHeaderAuth, HTTPError
from flask import Response, current_app, request
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from shelf.auth import api_keys, tokens
from shelf.auth.revocation import revocations
from shelf.core.errors import UnauthorizedError
from shelf.core.principal import SCOPE_DESCRIPTIONS, SCOPES, Principal
from shelf.extensions import db
from shelf.web import state
from shelf.web.credentials import API_KEY_HEADER
from shelf.web.problems import problem_response

__all__ = [
    "auth",
    "current_principal",
    "document_security",
    "init_app",
    "principal_for_bearer",
    "refuse_unknown_credentials",
]


class ScopedKeyAuth(APIKeyHeaderAuth):
    """APIFlask's API-key scheme, remembering which scopes a view asked for (for the 403).

    Its error responses carry `WWW-Authenticate` on the 401 only: Flask-HTTPAuth adds the
    challenge to every auth error, and a 403 is no invitation to authenticate again.
    """

    def authenticate(self, auth: Any, stored_password: Any) -> Principal | None:
        # The caller was identified before the rate limiter, from whichever credential it
        # sent (`_identify`); the scheme's own header is only one of them.
        return current_principal()

    def authorize(self, role: Any, user: Any, auth: Any) -> bool:
        state.current().required_scopes = role
        return bool(super().authorize(role, user, auth))

    def error_handler(self, f: Callable[..., Any]) -> Callable[..., Response]:
        with_challenge = super().error_handler(f)

        def challenge_on_401_only(*args: Any, **kwargs: Any) -> Response:
            response: Response = with_challenge(*args, **kwargs)
            if response.status_code != 401:
                del response.headers["WWW-Authenticate"]
            return response

        self.auth_error_callback = challenge_on_401_only
        return challenge_on_401_only


auth = ScopedKeyAuth(
    name="ApiKeyAuth",
    param_name=API_KEY_HEADER,
    description="An API key, issued with `shelf apikeys create`.",
)


def current_principal() -> Principal | None:
    """The caller of this request, or None when anonymous or not recognised."""
    return state.current().principal


def _identify() -> None:
    secret = request.headers.get(API_KEY_HEADER)
    bearer = _bearer_token(request.headers.get("Authorization"))
    if not secret and bearer is None:
        return
    request_state = state.current()
    if secret and bearer is not None:
        request_state.unknown_credentials = True
        return
    if bearer is not None:
        request_state.principal = principal_for_bearer(bearer)
    elif secret:
        legacy = (
            _legacy_owner if current_app.extensions["shelf.settings"].legacy_redis_apikeys else None
        )
        request_state.principal = api_keys.principal_for_key(
            secret, open_session=_session, legacy=legacy
        )
    request_state.unknown_credentials = request_state.principal is None


def _bearer_token(authorization: str | None) -> str | None:
    # Other schemes (Basic, for a client at the token endpoint) are not the caller's identity.
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def principal_for_bearer(token: str) -> Principal | None:
    """The caller an access token stands for, or None when it is invalid, expired or revoked."""
    try:
        claims = tokens.decode_access_token(current_app.extensions["shelf.settings"], token)
    except tokens.InvalidTokenError:
        return None
    if revocations.is_revoked(claims["jti"], engine=db.reads):
        return None
    return tokens.principal_of(claims)


def _legacy_owner(secret: str) -> str | None:
    """The owner the older deployment's Redis hash names for `secret` (LEGACY_REDIS_APIKEYS)."""
    redis = current_app.extensions["shelf.redis"]
    if redis is None:
        return None
    try:
        owner = redis.hget(api_keys.LEGACY_HASH, secret)
    except RedisError:  # the hash is a fallback: while Redis fails, the key is unknown
        return None
    if owner is None:
        return None
    return owner.decode(errors="replace") if isinstance(owner, bytes) else str(owner)


def _refuse_unknown_credentials() -> None:
    # After the rate limiter has counted the request (by client address), so that guessing
    # keys is limited like any other anonymous traffic.
    if state.current().unknown_credentials:
        raise UnauthorizedError(
            f"Unknown, expired or revoked credentials: send one valid API key in {API_KEY_HEADER} "
            "or one valid access token in Authorization: Bearer, or none at all for public "
            "reads.",
            headers={"WWW-Authenticate": auth.authenticate_header()},
        )


def _session() -> Session:
    return db.session


def _roles(principal: Principal) -> list[str]:
    return sorted(principal.granted())


def _auth_error(error: HTTPError) -> Response:
    if error.status_code == 403:
        request_state = state.current()
        principal = request_state.principal
        needed = ", ".join(request_state.required_scopes)
        held = ", ".join(sorted(principal.scopes)) if principal else "none"
        return problem_response(
            403,
            f"These credentials lack the scope this operation needs: {needed} (they have: {held}).",
        )
    return problem_response(
        401,
        f"Missing, unknown, expired or revoked credentials: send a valid key in {API_KEY_HEADER} "
        "or an access token in Authorization: Bearer.",
    )


def document_security(spec: dict[str, Any]) -> None:
    """Every protected operation accepts an API key, a bearer token, or OAuth 2 with the scopes
    it needs; the schemes, with the authorization server's endpoints, in the components."""
    prefix = current_app.extensions["shelf.settings"].api_prefix
    token_url, authorize_url = f"{prefix}/auth/token", f"{prefix}/auth/authorize"
    scopes = {scope: SCOPE_DESCRIPTIONS[scope] for scope in SCOPES}
    schemes = spec.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["BearerAuth"] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from the token endpoint (15 minutes; ES256, keys at "
        "/.well-known/jwks.json).",
    }
    schemes["OAuth2"] = {
        "type": "oauth2",
        "description": "Shelf's own client is `shelf` (public: PKCE, no secret).",
        "flows": {
            "authorizationCode": {
                "authorizationUrl": authorize_url,
                "tokenUrl": token_url,
                "refreshUrl": token_url,
                "scopes": scopes,
            },
            "password": {"tokenUrl": token_url, "refreshUrl": token_url, "scopes": scopes},
            "clientCredentials": {"tokenUrl": token_url, "scopes": scopes},
        },
    }
    for path in spec.get("paths", {}).values():
        for operation in path.values():
            if operation.get("security"):
                # A view's roles are alternatives (any one will do); a requirement lists scopes
                # that are all needed, so each alternative is a requirement of its own.
                alternatives = [
                    [scope] for requirement in operation["security"]
                    for scope in requirement.get(auth.name, [])
                ] or [[]]  # fmt: skip
                operation["security"] = [
                    {scheme: scopes}
                    for scheme in (auth.name, "BearerAuth", "OAuth2")
                    for scopes in alternatives
                ]


def init_app(app: APIFlask) -> None:
    """Identify the caller before anything else that depends on who it is."""
    auth.get_user_roles(_roles)
    auth.error_processor(_auth_error)
    app.before_request(_identify)


def refuse_unknown_credentials(app: APIFlask) -> None:
    """Answer 401 to a request whose credentials match no one, on every route; install after
    the rate limiter, which counts it first."""
    app.before_request(_refuse_unknown_credentials)
