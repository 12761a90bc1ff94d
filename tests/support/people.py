"""Users and their access tokens, made straight in the database for tests."""

from __future__ import annotations

import itertools

from apiflask import APIFlask

from shelf.auth import tokens
from shelf.auth.models import User
from shelf.auth.passwords import hash_password
from shelf.core.principal import ROLE_SCOPES
from shelf.extensions import db

__all__ = ["PASSWORD", "bearer_headers", "make_user"]

PASSWORD = "correct horse battery staple"
_numbers = itertools.count(1)
_hashes: dict[str, str] = {}  # argon2 is slow on purpose; tests reuse one hash per password


def make_user(
    app: APIFlask,
    *,
    role: str = "member",
    email: str | None = None,
    password: str = PASSWORD,
    full_name: str = "Test User",
    active: bool = True,
) -> User:
    """A user in the app's database."""
    if password not in _hashes:
        _hashes[password] = hash_password(password)
    with app.app_context():
        user = User(
            email=(email or f"{role}{next(_numbers)}@example.org").lower(),
            full_name=full_name,
            password_hash=_hashes[password],
            role=role,
            active=active,
        )
        db.session.add(user)
        db.session.commit()
        return user


def bearer_headers(app: APIFlask, user: User, *, scope: str | None = None) -> dict[str, str]:
    """An Authorization header with an access token for `user` (its role's scopes by default)."""
    scope = scope if scope is not None else " ".join(sorted(ROLE_SCOPES[user.role]))
    settings = app.extensions["shelf.settings"]
    token = tokens.issue_access_token(
        settings, subject=str(user.id), scope=scope, client_id=tokens.FIRST_PARTY_CLIENT_ID
    )
    return {"Authorization": f"Bearer {token.token}"}
