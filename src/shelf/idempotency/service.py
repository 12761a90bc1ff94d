"""Idempotency keys in the database: claim a key, store the first answer, replay it, purge.

A request with a key runs in one transaction: `claim` takes the key (on PostgreSQL with a
transaction-level advisory lock, tried without waiting; SQLite's BEGIN IMMEDIATE already
serializes writers) and looks for a stored answer; the change is made; `store` adds the answer
and commits both together. So a change and its stored answer exist together or not at all, and
a request that fails stores nothing: it changed nothing, so running it again is safe.

Keys belong to a caller (`caller`: the principal's kind and subject, or the client address of
an anonymous one); the same key of two callers are two keys.

A stored body is encrypted (AES-GCM, with a key derived from SECRET_KEY): some answers show a
secret once (a new API key's, a client's), and a replay must show it again, but the table must
not hold it readable. Should SECRET_KEY change within a day, an answer stored before can no
longer be read: its retry is 409, never run a second time.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.orm import Session

from shelf.core.concurrency import commit_or_raise
from shelf.core.db import utcnow
from shelf.core.errors import ConflictError, ValidationFailedError
from shelf.idempotency.models import IdempotencyRecord

__all__ = [
    "PURGE_BATCH",
    "REPLAY_WINDOW",
    "KeyInFlightError",
    "KeyReusedError",
    "StoredResponse",
    "claim",
    "fingerprint",
    "purge_expired",
    "store",
]

REPLAY_WINDOW = timedelta(hours=24)
PURGE_BATCH = 1000  # rows deleted per statement (and per transaction) by `purge_expired`
HEADER = "Idempotency-Key"


class KeyInFlightError(ConflictError):
    """409: the first request with this key has not finished yet."""

    code = "IDEMPOTENCY_KEY_IN_FLIGHT"


class KeyReusedError(ValidationFailedError):
    """422: the key was used before with another request."""

    code = "IDEMPOTENCY_KEY_REUSED"


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A response as stored with its key: status, the headers worth replaying, body bytes."""

    status: int
    headers: dict[str, str]
    body: bytes


@functools.lru_cache(maxsize=4)
def _cipher(secret: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"idempotent replays")
    return AESGCM(key.derive(secret.encode()))


def _seal(secret: str, body: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + _cipher(secret).encrypt(nonce, body, None)


def _unseal(secret: str, sealed: bytes, key: str) -> bytes:
    try:
        return _cipher(secret).decrypt(sealed[:12], sealed[12:], None)
    except InvalidTag as exc:
        raise ConflictError(
            f"The request with this {HEADER} ({key}) was completed, but its answer can no "
            "longer be read (the service's SECRET_KEY changed); it is not run again. Read "
            "the resource it created instead."
        ) from exc


def fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 (hex) of the request's method, path and body bytes."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))  # lengths first: no two splits collide
        digest.update(part)
    return digest.hexdigest()


def claim(
    session: Session,
    *,
    caller: str,
    key: str,
    fingerprint: str,
    secret: str,
    now: datetime | None = None,
) -> StoredResponse | None:
    """Take `key` for this transaction: the stored answer to replay, or None for a first request.

    Raises KeyInFlightError while another transaction holds the key, and KeyReusedError when
    the key answered another request. An expired record is removed, and the key starts afresh.
    """
    if not _try_lock(session, caller, key):
        raise _in_flight(key)
    record = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.caller == caller, IdempotencyRecord.key == key
        )
    )
    if record is None:
        return None
    if record.expires_at <= (now or utcnow()):
        session.delete(record)
        session.flush()  # before the new record's INSERT, which a flush would run first
        return None
    if record.fingerprint != fingerprint:
        raise KeyReusedError(
            f"This {HEADER} was already used with another request (method, path or body); "
            "a key stands for one request. Send a new key for a new request.",
            details=[
                {
                    "field": HEADER,
                    "issue": "already used with a different request",
                    "hint": "Generate a new key (a UUID) for every new request; reuse a key "
                    "only to retry the very same request.",
                }
            ],
        )
    if record.status is None:  # a row marking a request in flight (`store` writes none)
        raise _in_flight(key)
    body = _unseal(secret, record.body, key)
    return StoredResponse(record.status, orjson.loads(record.headers or "{}"), body)


def store(
    session: Session,
    *,
    caller: str,
    key: str,
    fingerprint: str,
    response: StoredResponse,
    secret: str,
    now: datetime | None = None,
) -> None:
    """Add the answer to `key` to the transaction that made the change, and commit both."""
    created = now or utcnow()
    session.add(
        IdempotencyRecord(
            caller=caller,
            key=key,
            fingerprint=fingerprint,
            status=response.status,
            headers=orjson.dumps(response.headers).decode(),
            body=_seal(secret, response.body),
            created_at=created,
            expires_at=created + REPLAY_WINDOW,
        )
    )
    commit_or_raise(session, what="request", conflict=_in_flight(key))


def purge_expired(
    session: Session,
    *,
    now: datetime | None = None,
    batch_size: int = PURGE_BATCH,
    max_batches: int | None = None,
) -> int:
    """Delete expired records, `batch_size` rows per transaction, at most `max_batches`
    batches (None: until none is left); how many were deleted."""
    expired = (
        select(IdempotencyRecord.id)
        .where(IdempotencyRecord.expires_at <= (now or utcnow()))
        .order_by(IdempotencyRecord.id)
        .limit(batch_size)
    )
    batch = (
        delete(IdempotencyRecord)
        .where(IdempotencyRecord.id.in_(expired.scalar_subquery()))
        .execution_options(synchronize_session=False)  # no loaded record to keep in step
    )
    deleted = batches = 0
    while max_batches is None or batches < max_batches:
        result: CursorResult[Any] = session.execute(batch)  # type: ignore[assignment]
        session.commit()  # each batch its own short transaction: no long lock on the table
        deleted, batches = deleted + result.rowcount, batches + 1
        if result.rowcount < batch_size:
            break
    return deleted


def _try_lock(session: Session, caller: str, key: str) -> bool:
    """On PostgreSQL, try the transaction-level advisory lock of (caller, key) without waiting."""
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite: the transaction began with BEGIN IMMEDIATE, writers queue
    digest = hashlib.sha256(f"{caller}\0{key}".encode()).digest()
    lock_id = int.from_bytes(digest[:8], "big", signed=True)
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(lock_id))))


def _in_flight(key: str) -> KeyInFlightError:
    return KeyInFlightError(
        f"A request with this {HEADER} is still being processed. Retry the same request "
        "shortly: once it has finished, you get its answer.",
        details=[
            {
                "field": HEADER,
                "issue": "a request with this key is in flight",
                "hint": "Wait for Retry-After seconds, then send the same request again.",
            }
        ],
        headers={"Retry-After": "1"},
    )
