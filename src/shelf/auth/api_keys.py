"""API keys: issue, list, revoke, verify, and import the keys of the older Redis deployment.

Keys carry at least 128 bits of randomness, so a fast SHA-256 digest is the right way to store
them (a slow password hash protects guessable secrets, and would cost every request). A key's
check is remembered for a second per process, so a revoked key stops working everywhere within
that second.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from cachetools import TTLCache
from redis import Redis
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from shelf.auth.models import ApiKey
from shelf.core.concurrency import commit_or_raise
from shelf.core.db import retry_if_lost, utcnow
from shelf.core.errors import NotFoundError, ValidationFailedError
from shelf.core.principal import SCOPES, Principal

__all__ = [
    "KEY_PREFIX",
    "LEGACY_HASH",
    "LEGACY_SCOPES",
    "IssuedKey",
    "LegacyLookup",
    "clear_key_cache",
    "create_key",
    "import_redis_keys",
    "list_keys",
    "parse_scopes",
    "principal_for_key",
    "revoke_key",
    "verify_key",
]

KEY_PREFIX = "shelf_"
LEGACY_HASH = "sec_apikeys"
LEGACY_SCOPES = ("templates:read", "templates:write")  # what the older service's keys could do
LAST_USED_RESOLUTION = timedelta(minutes=1)
KEY_CACHE_SECONDS = 1.0  # a revoked key stops working within this long on every worker
_key_cache: TTLCache[str, Principal | None] = TTLCache(maxsize=100_000, ttl=KEY_CACHE_SECONDS)
_key_cache_lock = threading.Lock()


# The owner an older deployment's Redis hash names for a secret, or None.
LegacyLookup = Callable[[str], str | None]


@dataclass(frozen=True)
class IssuedKey:
    """A new key: `secret` is shown once and never again."""

    key: ApiKey
    secret: str


def digest(secret: str) -> str:
    """The stored form of a key."""
    # surrogatepass: a header value that is not valid UTF-8 is an unknown key, not an error.
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def parse_scopes(text: str) -> list[str]:
    """Scope names from a comma list; unknown names are an error naming the valid ones."""
    scopes = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ValidationFailedError(
            f"Unknown scope(s): {', '.join(unknown) or '(none given)'}. "
            f"Valid scopes: {', '.join(SCOPES)}."
        )
    return scopes


def create_key(
    session: Session,
    *,
    owner: str,
    scopes: list[str],
    expires_in: timedelta | None = None,
    expires_at: datetime | None = None,
) -> IssuedKey:
    """Issue a key for `owner` with `scopes`, expiring at `expires_at` or after `expires_in`."""
    random_part = secrets.token_urlsafe(32)  # 256 bits
    secret = f"{KEY_PREFIX}{random_part}"
    key = ApiKey(
        prefix=secret[: len(KEY_PREFIX) + 6],
        key_hash=digest(secret),
        owner=owner,
        scopes=" ".join(scopes),
        expires_at=expires_at or (utcnow() + expires_in if expires_in else None),
    )
    session.add(key)
    commit_or_raise(session, what="API key")
    return IssuedKey(key=key, secret=secret)


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, newest first (secrets are not stored, so none can be shown)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id.desc())))


def revoke_key(session: Session, *, key_id: int) -> ApiKey:
    """Revoke a key; it stops working within a second on every worker."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFoundError(f"There is no API key with id {key_id}.")
    key.revoked_at = key.revoked_at or utcnow()
    session.commit()
    clear_key_cache()  # this process at once; other workers within the cache's second
    return key


def verify_key(
    session: Session,
    *,
    secret: str,
    now: datetime | None = None,
    legacy: LegacyLookup | None = None,
) -> Principal | None:
    """The principal a presented key stands for, or None when unknown, expired or revoked.

    With `legacy`, a key this database does not know is looked up in the older deployment's
    Redis hash, and imported on its first use (hashed, as `import_redis_keys` does)."""
    now = now or utcnow()
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest(secret)))
    if key is None and legacy is not None and (owner := legacy(secret)) is not None:
        key = _imported(secret, owner or "imported", list(LEGACY_SCOPES))
        session.add(key)
    expired = key is not None and key.expires_at is not None and key.expires_at <= now
    if key is None or key.revoked_at is not None or expired:
        session.rollback()  # ends the read, which on SQLite holds the write lock
        return None
    principal = Principal(
        kind="api_key",
        subject=f"apikey:{key.id}",
        name=key.owner,
        scopes=frozenset(key.scopes.split()),
    )
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        key.last_used_at = now  # at most once a minute, so reads stay reads
    session.commit()  # the change, or just the end of the read
    return principal


def principal_for_key(
    secret: str, *, open_session: Callable[[], Session], legacy: LegacyLookup | None = None
) -> Principal | None:
    """`verify_key`, remembered for KEY_CACHE_SECONDS: most requests skip the database.

    `open_session` is called only when the database must be asked: most requests need no
    session at all.
    """
    key_digest = digest(secret)
    # One lookup, not `in` then `[]` (as TTLCache.get does): the entry may expire between them.
    with _key_cache_lock, suppress(KeyError):
        return _key_cache[key_digest]

    def verify() -> Principal | None:
        session = open_session()
        try:
            return verify_key(session, secret=secret, legacy=legacy)
        except DBAPIError:
            session.rollback()  # a failed transaction must end before the session is used again
            raise

    principal = retry_if_lost(verify)  # a key check may run twice: it changes nothing that counts
    with _key_cache_lock:
        _key_cache[key_digest] = principal
    return principal


def clear_key_cache() -> None:
    """Forget remembered key checks (tests, and after revoking in this process)."""
    with _key_cache_lock:
        _key_cache.clear()


def import_redis_keys(
    session: Session, *, redis: Redis, scopes: list[str], hash_name: str = LEGACY_HASH
) -> tuple[int, int]:
    """Import the plain keys of the older deployment's Redis hash (key -> owner), hashed.

    Returns (imported, already present); running it again imports nothing new.
    """
    entries: dict[bytes, bytes] = redis.hgetall(hash_name)  # type: ignore[assignment]
    imported = skipped = 0
    for raw_key, raw_owner in entries.items():
        secret, owner = raw_key.decode(), raw_owner.decode() or "imported"
        if session.scalar(select(ApiKey.id).where(ApiKey.key_hash == digest(secret))):
            skipped += 1
            continue
        session.add(_imported(secret, owner, scopes))
        imported += 1
    session.commit()
    return imported, skipped


def _imported(secret: str, owner: str, scopes: list[str]) -> ApiKey:
    # An old key has no public prefix: show only a few characters of the secret.
    return ApiKey(prefix=secret[:4], key_hash=digest(secret), owner=owner, scopes=" ".join(scopes))
