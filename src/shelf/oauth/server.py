"""The OAuth 2 authorization server: Authlib's, bound to Shelf's clients, tokens and errors.

For the authorization page (`shelf.oauth.pages`) and the token endpoints (`shelf.oauth.routes`):

    authorization_server   Authlib's Flask `AuthorizationServer`, bound to every app by
                           `init_app` (in `create_app`). The page calls
                           `get_consent_grant(request, end_user=None)` (raises `OAuth2Error`),
                           then `create_authorization_response(request, grant_user=user or
                           None, grant=grant)` (302 to the client's redirect URI with a code, or
                           access_denied); `handle_error_response(request, error)` answers an
                           `OAuth2Error` (a 302 when it carries a redirect URI, else problem+json).
    authenticate           `shelf.oauth.service.authenticate(session, *, email, password,
                           client_ip) -> User`, re-exported: 401 `UnauthorizedError` or 429
                           `RateLimitedError` (with Retry-After).

Access tokens are `shelf.auth.tokens` JWTs (15 minutes); refresh tokens are opaque, stored as
digests and rotated on every use. Every error leaves as problem+json carrying RFC 6749's `error`
and `error_description`, with `Cache-Control: no-store`.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Any

import orjson
from apiflask import APIFlask
from authlib.integrations.flask_oauth2 import (  # type: ignore[import-untyped]
    AuthorizationServer,
)
from authlib.oauth2 import OAuth2Error  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749.errors import (  # type: ignore[import-untyped]
    InvalidGrantError,
    InvalidScopeError,
)
from flask import Response, current_app, request
from limits import parse as parse_limit

from shelf.auth import tokens
from shelf.auth.models import User
from shelf.core.errors import ForbiddenError
from shelf.core.principal import SCOPES
from shelf.core.ratelimit import RateLimiter
from shelf.extensions import db
from shelf.oauth import endpoints, grants, service, storage
from shelf.oauth.grants import Client
from shelf.oauth.schemas import GRANT_TYPES
from shelf.web import state
from shelf.web.problems import PROBLEM_MIMETYPE, problem_body

__all__ = [
    "DOCS_REDIRECT",
    "NO_STORE",
    "authenticate",
    "authorization_server",
    "first_party_client",
    "init_app",
    "metadata",
    "token_response",
]

authenticate = service.authenticate
DOCS_REDIRECT = "static/docs/oauth2-redirect.html"  # Swagger UI's, below the app's root
CSRF_COOKIE, CSRF_HEADER = "shelf_csrf", "X-CSRF-Token"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MESSAGES = {
    "invalid_request": "The request is missing a parameter, or repeats or misuses one.",
    "invalid_client": "The client is unknown, or its authentication failed.",
    "invalid_grant": "The grant (code, refresh token or password) is invalid, expired or revoked.",
    "unauthorized_client": "This client may not use this grant type.",
    "unsupported_grant_type": "This grant type is not supported.",
    "invalid_scope": "The requested scope is invalid, unknown, or more than may be granted.",
    "unsupported_token_type": "token_type_hint must be access_token or refresh_token.",
    "insecure_transport": "OAuth 2 needs HTTPS (or a loopback address).",
}


class ShelfAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """Authlib's server, its errors as problem+json (an error bound for a redirect URI stays a
    redirect)."""

    def query_client(self, client_id: str) -> Client | None:
        row = service.find_client(db.session, client_id=client_id)
        if row is not None:
            return Client.of(row)
        return first_party_client() if client_id == tokens.FIRST_PARTY_CLIENT_ID else None

    def save_token(self, token: dict[str, Any], oauth_request: Any) -> None:
        _save_token(token, oauth_request)

    def handle_error_response(self, oauth_request: Any, error: OAuth2Error) -> Response:
        status, body, headers = error(self.get_error_uri(oauth_request, error))
        if error.redirect_uri:
            return Response("", status=status, headers=headers)
        if error.error == "unsupported_token_type":  # Authlib's is a 401; RFC 7009 says 400
            status = 400
        if error.error == "invalid_client":  # 401, as RFC 6749 allows, however it was sent
            status = 401
            headers = [*(headers or []), ("WWW-Authenticate", 'Basic realm="shelf"')]
        return oauth_problem(status, body, headers)


def oauth_problem(status: int, body: dict[str, Any], headers: Any) -> Response:
    """An RFC 6749 error (`body`: error, error_description) inside a problem+json body."""
    code = str(body.get("error", "invalid_request"))
    message = str(body.get("error_description") or MESSAGES.get(code, "The request failed."))
    problem = orjson.loads(
        problem_body(
            status, message, code=code.upper(), request_id=state.request_id(request.environ)
        )
    )
    problem |= {"error": code, "error_description": message}
    response = Response(orjson.dumps(problem), status=status, mimetype=PROBLEM_MIMETYPE)
    for name, value in headers or []:
        if name.lower() != "content-type":
            response.headers[name] = value
    response.headers.update(NO_STORE)
    return response


def first_party_client() -> Client:
    """Shelf's own public client `shelf`: every scope a user's role allows, the password,
    refresh and code grants; Swagger UI's redirect page on this app's own origin."""
    settings = current_app.extensions["shelf.settings"]
    on_this_origin = f"{request.url_root}{DOCS_REDIRECT}"
    at_issuer = f"{settings.oauth_issuer.rstrip('/')}/{DOCS_REDIRECT}"
    return Client(
        client_id=tokens.FIRST_PARTY_CLIENT_ID,
        name="Shelf",
        secret_hash=None,
        scopes=frozenset(SCOPES),
        redirect_uris=tuple(dict.fromkeys((on_this_origin, at_issuer))),
        grant_types=frozenset({"password", "refresh_token", "authorization_code"}),
    )


def generate_token(
    grant_type: str,
    client: Client,
    user: User | None = None,
    scope: str | None = None,
    expires_in: int | None = None,
    include_refresh_token: bool = True,
) -> dict[str, Any]:
    """The token response: a JWT access token for the user (or, without one, the client)
    with the scope granted; a refresh token for a user when the client may refresh."""
    allowed = client.scopes if user is None else client.scopes & service.role_scopes(user.role)
    # What the caller asks for must be grantable; a code or a refresh token's scope is what was
    # granted before, narrowed to what the user's role allows today.
    strict = grant_type in ("password", "client_credentials")
    granted = service.grant_scope(allowed, scope, strict=strict)
    if granted is None:
        raise InvalidScopeError()
    access = tokens.issue_access_token(
        current_app.extensions["shelf.settings"],
        subject=client.client_id if user is None else str(user.id),
        scope=granted,
        client_id=client.client_id,
    )
    body: dict[str, Any] = {
        "access_token": access.token,
        "token_type": "Bearer",
        "expires_in": access.expires_in,
        "scope": granted,
    }
    if include_refresh_token and user is not None and client.check_grant_type("refresh_token"):
        body["refresh_token"] = secrets.token_urlsafe(32)
    return body


def _save_token(token: dict[str, Any], oauth_request: Any) -> None:
    """Spend the code or refresh token the new tokens were issued for, store the new refresh
    token, and commit them together; a code or token spent meanwhile is refused."""
    session = db.session
    old = oauth_request.refresh_token
    spent = old or oauth_request.authorization_code
    if spent is not None and not storage.spend(session, spent.row):
        if old is not None:
            storage.revoke_family(session, family=old.row.family, reason="reused")
        raise InvalidGrantError("This grant was used already.")
    if "refresh_token" in token:
        settings = current_app.extensions["shelf.settings"]
        storage.new_refresh_token(
            session,
            token=token["refresh_token"],
            user_id=oauth_request.user.id,
            client_id=oauth_request.client.client_id,
            scope=old.row.scope if old is not None else token["scope"],
            family=old.row.family if old is not None else None,
            lifetime=timedelta(days=settings.oauth_refresh_token_days),
        )
    session.commit()


authorization_server = ShelfAuthorizationServer()
authorization_server.scopes_supported = list(SCOPES)
authorization_server.register_token_generator("default", generate_token)
authorization_server.register_client_auth_method("none", endpoints.authenticate_public)
authorization_server.register_client_auth_method(
    "client_secret_basic", endpoints.authenticate_basic
)
authorization_server.register_grant(grants.PasswordGrant)
authorization_server.register_grant(grants.RefreshGrant)
authorization_server.register_grant(grants.ClientCredentialsGrant)
authorization_server.register_grant(grants.CodeGrant, [grants.S256CodeChallenge(required=True)])
authorization_server.register_endpoint(endpoints.Revocation)
authorization_server.register_endpoint(endpoints.Introspection)


def token_response() -> Response:
    """The token endpoint's answer. Browsers may keep the refresh token in an HttpOnly cookie
    instead of the body: opt in with `refresh_token_transport=cookie`; a refresh that sends no
    `refresh_token` then takes the cookie's, and must carry the `X-CSRF-Token` header equal to
    the `shelf_csrf` cookie (double submit), or it is refused (403)."""
    form = request.form
    from_cookie = (
        form.get("grant_type") == "refresh_token"
        and not form.get("refresh_token")
        and grants.REFRESH_COOKIE in request.cookies
    )
    if from_cookie:
        sent, kept = request.headers.get(CSRF_HEADER, ""), request.cookies.get(CSRF_COOKIE, "")
        if not sent or not kept or not hmac.compare_digest(sent, kept):
            raise ForbiddenError(
                f"A refresh with the refresh cookie needs the {CSRF_HEADER} header, equal to "
                f"the {CSRF_COOKIE} cookie.",
                headers=NO_STORE,
            )
    response: Response = authorization_server.create_token_response()
    if from_cookie or form.get("refresh_token_transport") == "cookie":
        _to_cookies(response)
    return response


def _to_cookies(response: Response) -> None:
    settings = current_app.extensions["shelf.settings"]
    path = f"{settings.api_prefix}/auth/token"
    if response.status_code != 200:
        if response.status_code == 400:  # the cookie's token is no good: forget it
            response.delete_cookie(grants.REFRESH_COOKIE, path=path, secure=True, httponly=True)
        return
    body = orjson.loads(response.get_data())
    refresh = body.pop("refresh_token", None)
    if refresh is None:
        return
    body["csrf_token"] = csrf = secrets.token_urlsafe(32)
    max_age = settings.oauth_refresh_token_days * 86_400
    cookie = {"max_age": max_age, "secure": True, "samesite": "Strict"}
    response.set_cookie(grants.REFRESH_COOKIE, refresh, path=path, httponly=True, **cookie)
    response.set_cookie(CSRF_COOKIE, csrf, path="/", httponly=False, **cookie)
    response.set_data(orjson.dumps(body))


def _answer_oauth_error(error: OAuth2Error) -> Response:
    response: Response = authorization_server.handle_error_response(None, error)
    return response


def metadata() -> dict[str, Any]:
    """The authorization server's metadata (RFC 8414), its URLs from OAUTH_ISSUER."""
    settings = current_app.extensions["shelf.settings"]
    base = settings.oauth_issuer.rstrip("/")
    endpoint = f"{base}{settings.api_prefix}/auth"
    return {
        "issuer": settings.oauth_issuer,
        "authorization_endpoint": f"{endpoint}/authorize",
        "token_endpoint": f"{endpoint}/token",
        "revocation_endpoint": f"{endpoint}/revoke",
        "introspection_endpoint": f"{endpoint}/introspect",
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": grants.ANY_CLIENT,
        "revocation_endpoint_auth_methods_supported": grants.ANY_CLIENT,
        "introspection_endpoint_auth_methods_supported": grants.SECRET_METHODS,
        "service_documentation": f"{base}/docs",
    }


def init_app(app: APIFlask) -> None:
    """Bind the authorization server to `app`: its sign-in limiter (SIGN_IN_FAILURES_PER_MINUTE
    per client address and per account, in Redis when configured), and problem+json for an
    `OAuth2Error` raised outside Authlib's own handling (an insecure transport)."""
    settings = app.extensions["shelf.settings"]
    app.extensions[service.SIGN_IN_LIMITER] = RateLimiter(
        app.extensions["shelf.redis"],
        prefix=f"{settings.redis_key_prefix}sign-in:",
        default=parse_limit(f"{settings.sign_in_failures_per_minute}/minute"),
        per_endpoint={},
        backoff=app.extensions["shelf.redis_backoff"],
    )
    app.register_error_handler(OAuth2Error, _answer_oauth_error)
