"""Access tokens: JWTs signed with ES256, verifiable by any service from the published keys.

Each secret of `Settings.signing_secrets` derives one P-256 key (HKDF), named by its RFC 7638
thumbprint (`kid`): every worker and replica derives the same keys without sharing a file. The
first key signs; every listed key verifies, so a new key is put first and the old one dropped
once the tokens it signed have expired (15 minutes): nobody is signed out. The algorithm is
pinned: a token whose header names another (`none`, HS256 with the public key as its secret) is
refused before any key is tried.

A verified token is remembered by this process until it expires, so a bearer request costs a
dictionary look-up, not a signature check; revocation is checked on every request
(`shelf.auth.revocation`).
"""

from __future__ import annotations

import functools
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cachetools import TTLCache
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet
from joserfc.jwt import JWTClaimsRegistry

from shelf.config import Settings
from shelf.core.principal import Principal

__all__ = [
    "ACCESS_TOKEN_SECONDS",
    "ALGORITHM",
    "FIRST_PARTY_CLIENT_ID",
    "AccessToken",
    "InvalidTokenError",
    "Keys",
    "clear_token_cache",
    "decode_access_token",
    "issue_access_token",
    "jwks",
    "keys_of",
    "principal_of",
]

ALGORITHM = "ES256"
ACCESS_TOKEN_SECONDS = 900
FIRST_PARTY_CLIENT_ID = "shelf"  # Shelf's own public client: the docs page, the CLI, scripts
LEEWAY_SECONDS = 30  # clock skew tolerated on exp, nbf and iat
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_verified: TTLCache[str, dict[str, Any]] = TTLCache(maxsize=100_000, ttl=ACCESS_TOKEN_SECONDS)
_verified_lock = threading.Lock()


class InvalidTokenError(Exception):
    """The token is malformed, signed by no listed key, expired, or not meant for Shelf."""


@dataclass(frozen=True)
class AccessToken:
    """A token just issued, with what the token response tells the client."""

    token: str
    jti: str
    expires_in: int
    expires_at: datetime
    scope: str


@dataclass(frozen=True)
class Keys:
    """The signing key and the set of keys that verify."""

    signing: ECKey
    verifying: KeySet


def _derive(secret: str) -> ECKey:
    seed = HKDF(
        algorithm=hashes.SHA256(), length=48, salt=b"shelf access tokens", info=b"ES256"
    ).derive(secret.encode())
    scalar = int.from_bytes(seed, "big") % (_P256_ORDER - 1) + 1
    private = ec.derive_private_key(scalar, ec.SECP256R1())
    key = ECKey.import_key(private, {"use": "sig", "alg": ALGORITHM})
    key.ensure_kid()
    return key


@functools.lru_cache(maxsize=8)
def _keys(secrets_: tuple[str, ...]) -> Keys:
    derived = [_derive(secret) for secret in secrets_]
    return Keys(signing=derived[0], verifying=KeySet(derived))  # type: ignore[arg-type]


def keys_of(settings: Settings) -> Keys:
    """The keys `settings` name (derived once per process)."""
    return _keys(tuple(settings.signing_secrets))


def jwks(settings: Settings) -> dict[str, Any]:
    """The public keys, as `/.well-known/jwks.json` serves them (RFC 7517)."""
    return dict(keys_of(settings).verifying.as_dict(private=False))


def issue_access_token(
    settings: Settings, *, subject: str, scope: str, client_id: str, now: float | None = None
) -> AccessToken:
    """A signed access token for `subject` (a user's id, or a client's id) with `scope`."""
    issued = int(now if now is not None else time.time())
    jti = secrets.token_urlsafe(16)
    key = keys_of(settings).signing
    claims = {
        "iss": settings.oauth_issuer,
        "aud": settings.oauth_audience,
        "sub": subject,
        "client_id": client_id,
        "scope": scope,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ACCESS_TOKEN_SECONDS,
        "jti": jti,
    }
    header = {"alg": ALGORITHM, "kid": key.kid, "typ": "at+jwt"}
    token = jwt.encode(header, claims, key, algorithms=[ALGORITHM])
    return AccessToken(
        token=token,
        jti=jti,
        expires_in=ACCESS_TOKEN_SECONDS,
        expires_at=datetime.fromtimestamp(issued + ACCESS_TOKEN_SECONDS, UTC),
        scope=scope,
    )


def decode_access_token(
    settings: Settings, token: str, *, now: float | None = None
) -> dict[str, Any]:
    """The claims of a valid access token, or InvalidTokenError."""
    current = now if now is not None else time.time()
    cache_key = f"{settings.oauth_issuer}\n{settings.oauth_audience}\n{token}"
    claims = _verified.get(cache_key)
    if claims is None:
        claims = _verify(settings, token, current)
        if claims["kid"] not in _listed_kids(settings):
            raise InvalidTokenError("signed by a key that is no longer listed")
        with _verified_lock:
            _verified[cache_key] = claims
    elif claims["kid"] not in _listed_kids(settings):  # the key was rotated out meanwhile
        raise InvalidTokenError("signed by a key that is no longer listed")
    if claims["exp"] + LEEWAY_SECONDS <= current:
        raise InvalidTokenError("expired")
    return claims


def _listed_kids(settings: Settings) -> frozenset[str]:
    return frozenset(key.kid for key in keys_of(settings).verifying.keys if key.kid)


def _verify(settings: Settings, token: str, now: float) -> dict[str, Any]:
    try:
        decoded = jwt.decode(token, keys_of(settings).verifying, algorithms=[ALGORITHM])
        registry = JWTClaimsRegistry(
            now=int(now),
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": settings.oauth_issuer},
            aud={"essential": True, "value": settings.oauth_audience},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            jti={"essential": True},
            scope={"essential": True},
            client_id={"essential": True},
        )
        registry.validate(decoded.claims)
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidTokenError(str(exc)) from exc
    if decoded.header.get("alg") != ALGORITHM:
        raise InvalidTokenError("unexpected algorithm")
    return {**decoded.claims, "kid": decoded.header.get("kid")}


def clear_token_cache() -> None:
    """Forget the tokens verified so far (tests; key rotation takes effect without it)."""
    with _verified_lock:
        _verified.clear()


def principal_of(claims: dict[str, Any]) -> Principal:
    """The caller a verified token's claims name: a client (its own token, `sub` is its id) or
    a user (`sub` is the user's id)."""
    scopes = frozenset(claims["scope"].split())
    client_id = claims["client_id"]
    if claims["sub"] == client_id:
        return Principal(
            kind="client", subject=f"client:{client_id}", name=client_id, scopes=scopes
        )
    user_id = int(claims["sub"])
    return Principal(
        kind="user",
        subject=f"user:{user_id}",
        name=f"user {user_id}",
        scopes=scopes,
        user_id=user_id,
    )
