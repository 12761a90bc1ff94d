"""Who is calling, and may they do this? Used by every blueprint.

The caller is identified once per request, before rate limiting, from the `X-API-KEY` header.
Routes declare what they need with APIFlask's `auth_required(auth, roles=[SCOPE])`, which also
documents the security requirement in OpenAPI. `admin` grants every scope.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from apiflask import APIFlask, APIKeyHeaderAuth, HTTPError
from cachetools import TTLCache
from flask import Response, g, request

from shelf.errors import problem_response

__all__ = [
    "API_KEY_HEADER",
    "SCOPES",
    "Principal",
    "auth",
    "clear_key_cache",
    "current_principal",
    "has_credentials",
    "init_app",
]

SCOPES = (
    "books:write",
    "templates:read",
    "templates:write",
    "loans:read",
    "loans:write",
    "users:admin",
    "exports:write",
    "jobs:read",
    "admin",
)
API_KEY_HEADER = "X-API-KEY"
# Where a request carries credentials, in the WSGI environ (HTTP_ and the header's name).
CREDENTIAL_ENVIRON_KEYS = tuple(
    "HTTP_" + header.upper().replace("-", "_") for header in (API_KEY_HEADER, "Authorization")
)
KEY_CACHE_SECONDS = 1.0  # a revoked key stops working within this long on every worker


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: what kind of credential, a stable subject, and its scopes."""

    kind: str
    subject: str
    name: str
    scopes: frozenset[str] = field(default_factory=frozenset)

    def granted(self) -> set[str]:
        """Every scope this caller holds, `admin` expanded."""
        return set(SCOPES) if "admin" in self.scopes else set(self.scopes)


class ScopedKeyAuth(APIKeyHeaderAuth):
    """APIFlask's API-key scheme, remembering which scopes a view asked for (for the 403)."""

    def authorize(self, role: Any, user: Any, auth: Any) -> bool:
        g.required_scopes = role
        return bool(super().authorize(role, user, auth))


auth = ScopedKeyAuth(
    name="ApiKeyAuth",
    param_name=API_KEY_HEADER,
    description="An API key, issued with `shelf apikeys create`.",
)
_key_cache: TTLCache[str, Principal | None] = TTLCache(maxsize=100_000, ttl=KEY_CACHE_SECONDS)
_key_cache_lock = threading.Lock()


def current_principal() -> Principal | None:
    """The caller of this request, or None when anonymous or not recognised."""
    principal: Principal | None = g.get("principal")
    return principal


def has_credentials(environ: dict[str, Any]) -> bool:
    """Whether the request carries credentials, valid or not."""
    return any(environ.get(key) for key in CREDENTIAL_ENVIRON_KEYS)


def _principal_for_key(secret: str) -> Principal | None:
    from shelf.auth import service as auth_service
    from shelf.db import db

    digest = auth_service.digest(secret)
    with _key_cache_lock:
        # One lookup, not `in` then `[]`: the entry may expire between the two.
        try:
            return _key_cache[digest]
        except KeyError:
            pass
    principal = auth_service.verify_key(db.session, secret)
    with _key_cache_lock:
        _key_cache[digest] = principal
    return principal


def _identify() -> None:
    secret = request.headers.get(API_KEY_HEADER)
    g.principal = _principal_for_key(secret) if secret else None


def _verify(token: str) -> Principal | None:
    return current_principal()


def _roles(principal: Principal) -> list[str]:
    return sorted(principal.granted())


def _auth_error(error: HTTPError) -> Response:
    if error.status_code == 403:
        principal = current_principal()
        needed = ", ".join(g.get("required_scopes") or [])
        held = ", ".join(sorted(principal.scopes)) if principal else "none"
        return problem_response(
            403,
            f"These credentials lack the scope this operation needs: {needed} (they have: {held}).",
        )
    return problem_response(
        401,
        f"Missing, unknown, expired or revoked credentials: send a valid key in {API_KEY_HEADER}.",
    )


def clear_key_cache() -> None:
    """Forget cached key checks (tests, and after revoking in this process)."""
    with _key_cache_lock:
        _key_cache.clear()


def init_app(app: APIFlask) -> None:
    """Identify the caller before anything else that depends on who it is."""
    auth.verify_token(_verify)
    auth.get_user_roles(_roles)
    auth.error_processor(_auth_error)
    app.before_request(_identify)
