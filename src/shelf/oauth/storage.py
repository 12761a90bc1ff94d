"""Refresh tokens and authorization codes: stored as SHA-256 digests, each spent once.

Refresh tokens rotated from one sign-in share a `family`; presenting a spent one revokes the
family. Functions that flush leave the commit to the caller (the token endpoint commits a new
refresh token with the spending of the old one); `revoke_family` and `save_code` commit.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shelf.audit import service as audit_service
from shelf.auth.models import AuthorizationCode, RefreshToken
from shelf.core.db import utcnow
from shelf.oauth.service import digest

__all__ = [
    "CODE_LIFETIME",
    "find_code",
    "find_refresh_token",
    "new_refresh_token",
    "revoke_family",
    "save_code",
    "spend",
]

CODE_LIFETIME = timedelta(minutes=10)  # RFC 6749, 4.1.2: a code lives 10 minutes at most


def new_refresh_token(
    session: Session, *, token: str, user_id: int, client_id: str, scope: str,
    family: str | None, lifetime: timedelta,
) -> None:  # fmt: skip
    """Store a new refresh token (in `family`, or a new one) and flush."""
    session.add(
        RefreshToken(
            token_hash=digest(token),
            family=family or secrets.token_hex(16),
            user_id=user_id,
            client_id=client_id,
            scope=scope,
            expires_at=utcnow() + lifetime,
        )
    )
    session.flush()


def find_refresh_token(session: Session, *, token: str) -> RefreshToken | None:
    """The stored refresh token `token` is, in whatever state, or None."""
    return session.scalar(select(RefreshToken).where(RefreshToken.token_hash == digest(token)))


def spend(session: Session, row: RefreshToken | AuthorizationCode) -> bool:
    """Mark a refresh token spent (or a code used), flushing; False when another request did
    so first (then the caller must refuse)."""
    model: Any = type(row)
    column = model.spent_at if isinstance(row, RefreshToken) else model.used_at
    result: Any = session.execute(
        update(model)
        .where(model.id == row.id, column.is_(None))
        .values({column.key: utcnow()})
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)


def revoke_family(session: Session, *, family: str, reason: str) -> None:
    """Revoke every refresh token rotated from one sign-in, and record it with `reason`
    (`revoked`, or `reused`: a spent one was presented again)."""
    session.rollback()
    revoked = session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .returning(RefreshToken.user_id)
        .execution_options(synchronize_session=False)
    ).first()
    if revoked is not None:
        audit_service.record(
            session, action="refresh_token.revoke", target_type="user",
            target_id=revoked.user_id, changes={"reason": reason},
        )  # fmt: skip
    session.commit()


def save_code(
    session: Session, *, code: str, client_id: str, user_id: int, redirect_uri: str, scope: str,
    challenge: str | None, method: str | None, nonce: str | None,
) -> None:  # fmt: skip
    """Store an authorization code, with its PKCE challenge."""
    session.add(
        AuthorizationCode(
            code_hash=digest(code),
            client_id=client_id,
            user_id=user_id,
            redirect_uri=redirect_uri,
            scope=scope,
            nonce=nonce,
            code_challenge=challenge,
            code_challenge_method=method,
            expires_at=utcnow() + CODE_LIFETIME,
        )
    )
    session.commit()


def find_code(session: Session, *, code: str, client_id: str) -> AuthorizationCode | None:
    """The unused, unexpired code `code` is, issued to `client_id`; or None."""
    row = session.scalar(
        select(AuthorizationCode).where(AuthorizationCode.code_hash == digest(code))
    )
    if row is None or row.client_id != client_id or row.used_at is not None:
        return None
    return row if row.expires_at > utcnow() else None
