"""Identity: users, API keys, OAuth clients and their tokens.

Secrets are never stored: keys, client secrets, refresh tokens and codes as SHA-256 digests
(they carry 128 bits or more of randomness), passwords as argon2id hashes.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shelf.core.db import Base, UTCDateTime, utcnow

__all__ = [
    "ROLES",
    "ApiKey",
    "AuthorizationCode",
    "OAuthClient",
    "RefreshToken",
    "RevokedToken",
    "User",
]


class ApiKey(Base):
    """An API key: a random secret shown once, recognisable by its visible prefix."""

    __tablename__ = "api_keys"
    # Audited as api_key.create, .update, .delete (shelf.audit.service), never its hash; a use
    # stamping last_used_at is no change to record.
    __audit__: ClassVar[str] = "api_key"
    __audit_quiet__: ClassVar[tuple[str, ...]] = ("last_used_at",)

    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    owner: Mapped[str] = mapped_column(String(200), index=True)
    scopes: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = ({"sqlite_autoincrement": True},)  # ids are never reused (migration 0007)


ROLES = ("member", "librarian", "admin")


class User(Base):
    """A member of the library, or one of its staff; signs in with email and password."""

    __tablename__ = "users"
    __audit__: ClassVar[str] = "user"  # audited as user.create, .update, .delete; no password

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, never shown
    role: Mapped[str] = mapped_column(String(20), default="member")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = ({"sqlite_autoincrement": True},)


class OAuthClient(Base):
    """A program that asks for tokens: confidential (with a secret) or public (PKCE)."""

    __tablename__ = "oauth_clients"
    __audit__: ClassVar[str] = "oauth_client"  # audited, by client_id, never its secret
    __audit_id__: ClassVar[str] = "client_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str | None] = mapped_column(String(64))  # SHA-256; None: public client
    name: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[str] = mapped_column(String(500))  # space-separated, the most it may get
    redirect_uris: Mapped[str] = mapped_column(Text, default="")  # one per line
    grant_types: Mapped[str] = mapped_column(String(300))  # space-separated
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = ({"sqlite_autoincrement": True},)


class RefreshToken(Base):
    """An opaque refresh token, stored as its SHA-256 digest; rotated on every use.

    Tokens rotated from one sign-in share a `family`: presenting a spent one revokes them all.
    """

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(500))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    spent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # rotated into a new one
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = ({"sqlite_autoincrement": True},)


class AuthorizationCode(Base):
    """A one-time code of the authorization-code grant, stored as its digest, with its PKCE
    challenge."""

    __tablename__ = "authorization_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    redirect_uri: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[str] = mapped_column(String(500))
    nonce: Mapped[str | None] = mapped_column(String(200))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = ({"sqlite_autoincrement": True},)


class RevokedToken(Base):
    """An access token revoked before it expires, by its `jti`; kept until it would expire."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
