"""API keys for admins over HTTP: what `shelf apikeys` does, on `shelf.auth.api_keys`.

Writes take the session and own its transaction; lists take the engine.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Engine, Select, bindparam, select
from sqlalchemy.orm import Session

from shelf.apikeys.schemas import ApiKeyCreate, ApiKeyQuery
from shelf.auth import api_keys
from shelf.auth.models import ApiKey
from shelf.core.db import utcnow
from shelf.core.errors import ConflictError, NotFoundError
from shelf.core.page_reads import paginate
from shelf.core.pagination import Listing

__all__ = ["create_key", "get_key", "list_keys", "revoke_key", "rotate_key"]

MAX_ID = 2**31 - 1


def create_key(session: Session, *, data: ApiKeyCreate) -> api_keys.IssuedKey:
    """Issue a key; its secret is in the answer and nowhere else."""
    return api_keys.create_key(
        session, owner=data.owner, scopes=list(data.scopes), expires_at=data.expires_at
    )


def get_key(session: Session, *, key_id: int) -> ApiKey:
    """The key with this id, or NotFoundError."""
    key = session.get(ApiKey, key_id) if 0 < key_id <= MAX_ID else None
    if key is None:
        raise NotFoundError(f"There is no API key with id {key_id}.")
    return key


def list_keys(engine: Engine, *, query: ApiKeyQuery) -> Listing:
    """One page of keys matching the filters (plain rows), and how many match in all."""
    values: dict[str, Any] = {"owner": query.owner} if query.owner is not None else {}
    revoked = query.revoked
    with engine.connect() as connection:
        return paginate(connection, _filter_statement("owner" in values, revoked), values, query)


@functools.lru_cache(maxsize=6)  # owner or not, times revoked, unrevoked or either
def _filter_statement(by_owner: bool, revoked: bool | None) -> Select[Any]:
    statement = select(ApiKey)
    if by_owner:
        statement = statement.where(ApiKey.owner == bindparam("owner"))
    if revoked is not None:
        statement = statement.where(
            ApiKey.revoked_at.is_not(None) if revoked else ApiKey.revoked_at.is_(None)
        )
    return statement


def revoke_key(session: Session, *, key_id: int) -> ApiKey:
    """Revoke a key (again: nothing changes); refused everywhere within KEY_CACHE_SECONDS."""
    get_key(session, key_id=key_id)  # an id out of range is a 404, not a database error
    return api_keys.revoke_key(session, key_id=key_id)


def rotate_key(session: Session, *, key_id: int) -> api_keys.IssuedKey:
    """Issue a new secret for a key's owner and scopes, for as long as the old key was to last,
    and revoke the old key, in one transaction."""
    old = get_key(session, key_id=key_id)
    now = utcnow()
    if old.revoked_at is not None:
        raise ConflictError(
            f"API key {key_id} is revoked: there is nothing to rotate.",
            details=[
                {
                    "field": "key_id",
                    "issue": "the key is revoked",
                    "hint": "Create a new key with POST /api/v1/apikeys instead.",
                }
            ],
        )
    lifetime = old.expires_at - old.created_at if old.expires_at else None
    old.revoked_at = now  # committed with the new key, by `create_key`
    issued = api_keys.create_key(
        session, owner=old.owner, scopes=old.scopes.split(), expires_in=lifetime
    )
    api_keys.clear_key_cache()  # this process at once; other workers within the cache's second
    return issued
