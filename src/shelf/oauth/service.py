"""Business rules of the authorization server: clients, scopes, refresh tokens, codes, sign-ins.

Client secrets, refresh tokens and codes carry 256 bits of randomness and are stored as SHA-256
digests; passwords are argon2id (`shelf.auth.passwords`). Public functions take the session and
own its transaction; those named as flushing leave the commit to the caller (the token
endpoint commits a new refresh token together with the spending of the old one).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from shelf.audit import service as audit_service
from shelf.auth import passwords
from shelf.auth.models import OAuthClient, RefreshToken, User
from shelf.core.concurrency import commit_or_raise
from shelf.core.db import utcnow
from shelf.core.errors import ConflictError, NotFoundError, RateLimitedError, UnauthorizedError
from shelf.core.page_reads import paginate
from shelf.core.pagination import Listing
from shelf.core.principal import ROLE_SCOPES, SCOPES
from shelf.core.ratelimit import RateLimiter
from shelf.oauth.schemas import ClientCreate, ClientQuery

__all__ = [
    "SIGN_IN_FAILED",
    "SIGN_IN_LIMITER",
    "IssuedClient",
    "all_clients",
    "authenticate",
    "create_client",
    "digest",
    "find_client",
    "get_client",
    "grant_scope",
    "list_clients",
    "revoke_client",
    "role_scopes",
    "rotate_secret",
    "sign_in",
]

SIGN_IN_FAILED = "The email or password is wrong, or the account is deactivated."
ALL_CLIENTS = select(OAuthClient)
MAX_CLIENT_ID = 64  # the column's length
SIGN_IN_LIMITER = "shelf.sign_in_limiter"  # the app extension holding the sign-in limiter


def digest(secret: str) -> str:
    """The stored form of a client secret, refresh token or code."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class IssuedClient:
    """A client just registered, or given a new secret: `secret` is shown once (None: public)."""

    client: OAuthClient
    secret: str | None


def create_client(session: Session, *, data: ClientCreate) -> IssuedClient:
    """Register a client; a confidential one gets a secret, shown in the answer only."""
    secret = None if data.public else secrets.token_urlsafe(32)
    client = OAuthClient(
        client_id=f"c_{secrets.token_urlsafe(12)}",
        secret_hash=digest(secret) if secret else None,
        name=data.name,
        scopes=" ".join(data.scopes),
        redirect_uris="\n".join(data.redirect_uris),
        grant_types=" ".join(data.grant_types or []),
    )
    session.add(client)
    commit_or_raise(session, what="client")
    return IssuedClient(client, secret)


def find_client(session: Session, *, client_id: str) -> OAuthClient | None:
    """The client `client_id` names, unless it is unknown or revoked."""
    if len(client_id) > MAX_CLIENT_ID:
        return None
    client = session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    return client if client is not None and client.revoked_at is None else None


def get_client(session: Session, *, client_id: str) -> OAuthClient:
    """The client `client_id` names, revoked or not; or NotFoundError."""
    client = None
    if len(client_id) <= MAX_CLIENT_ID:
        client = session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    if client is None:
        raise NotFoundError(f"There is no client {client_id!r}.")
    return client


def all_clients(session: Session) -> list[OAuthClient]:
    """Every client, oldest first (for `shelf clients list`)."""
    return list(session.scalars(ALL_CLIENTS.order_by(OAuthClient.id)))


def list_clients(engine: Engine, *, query: ClientQuery) -> Listing:
    """One page of clients (plain rows), and how many there are."""
    with engine.connect() as connection:
        return paginate(connection, ALL_CLIENTS, {}, query)


def revoke_client(session: Session, *, client_id: str) -> OAuthClient:
    """Revoke a client (idempotent): it gets no token, and its refresh tokens stop working."""
    client = get_client(session, client_id=client_id)
    now = utcnow()
    client.revoked_at = client.revoked_at or now
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.client_id == client.client_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.commit()
    return client


def rotate_secret(session: Session, *, client_id: str) -> IssuedClient:
    """Give a confidential client a new secret; the old one stops working at once."""
    client = get_client(session, client_id=client_id)
    if client.revoked_at is not None or client.secret_hash is None:
        why = "is revoked" if client.revoked_at is not None else "is public: it has no secret"
        raise ConflictError(f"The client {client_id!r} {why}.")
    secret = secrets.token_urlsafe(32)
    client.secret_hash = digest(secret)
    session.commit()
    return IssuedClient(client, secret)


def role_scopes(role: str) -> frozenset[str]:
    """Every scope a user of `role` may be granted (`admin` expanded)."""
    scopes = ROLE_SCOPES.get(role, frozenset())
    return frozenset(SCOPES) if "admin" in scopes else scopes


def grant_scope(allowed: frozenset[str], requested: str | None, *, strict: bool) -> str | None:
    """The scope to grant: `requested` (all of `allowed` when None) within `allowed`, `admin`
    standing for everything; None when nothing is left, or (`strict`) when `requested` asks
    for more than `allowed`."""
    wanted = set(requested.split()) if requested else set(allowed)
    if strict and not wanted <= allowed:
        return None
    granted = wanted & allowed
    if "admin" in granted:
        granted = {"admin"}
    return " ".join(scope for scope in SCOPES if scope in granted) or None


def authenticate(
    session: Session,
    *,
    email: str,
    password: str,
    client_ip: str | None,
    limiter: RateLimiter | None = None,
) -> User:
    """Sign a person in, for the token endpoint's password grant and the authorization page.

    Returns the active `User` `email` (any case) and `password` name, and commits (a rehashed
    password, the `user.sign_in` audit record). Raises `UnauthorizedError` (401) for a wrong
    password, an unknown email or a deactivated account alike, after the same work;
    `RateLimitedError` (429, with `Retry-After`) once the client address or the account has
    failed SIGN_IN_FAILURES_PER_MINUTE times in the current minute, whether the account
    exists or not. `limiter` defaults to the app's sign-in limiter (`SIGN_IN_LIMITER`).
    """
    return sign_in(
        session,
        email=email,
        password=password,
        client_ip=client_ip,
        limiter=limiter or current_app.extensions[SIGN_IN_LIMITER],
    )


def sign_in(
    session: Session, *, email: str, password: str, client_ip: str | None, limiter: RateLimiter
) -> User:
    """The active user `email` and `password` name, or UnauthorizedError (the same whether the
    account exists or not, after the same work); RateLimitedError once the client address or
    the account has failed `limiter`'s limit within its window. Rehashes an outdated hash."""
    email = email.strip().lower()
    identities = (f"ip:{client_ip}", f"account:{digest(email)}")
    for identity in identities:
        window = limiter.peek(identity)
        if window.count >= window.limit.amount:
            raise RateLimitedError(
                "Too many failed sign-ins. Wait the number of seconds in Retry-After, then "
                "try again.",
                headers={"Retry-After": str(window.reset_seconds), "Cache-Control": "no-store"},
            )
    user = session.scalar(select(User).where(User.email == email)) if email else None
    if user is None:
        passwords.dummy_verify(password)
        matches, new_hash = False, None
    else:
        matches, new_hash = passwords.verify_password(user.password_hash, password)
    if user is None or not matches or not user.active:
        for identity in identities:
            limiter.hit(identity, None)
        _record_sign_in(session, action="user.sign_in_failed", user_id=user.id if user else None)
        raise UnauthorizedError(SIGN_IN_FAILED)
    if new_hash is not None:
        user.password_hash = new_hash
    _record_sign_in(session, action="user.sign_in", user_id=user.id)
    session.commit()
    return user


def _record_sign_in(session: Session, *, action: str, user_id: int | None) -> None:
    """Record a sign-in (`user.sign_in`, in the caller's transaction) or a refused one
    (`user.sign_in_failed`, committed at once: the request then fails)."""
    if action == "user.sign_in":
        actor = audit_service.Actor("user", str(user_id))
        audit_service.record(
            session, action=action, target_type="user", target_id=user_id, actor=actor
        )
    else:
        audit_service.record_now(session, action=action, target_type="user", target_id=user_id)
