"""Optimistic concurrency: If-Match against ETags, and commits that turn races into errors.

A write first reads the row it changes with a lock (SELECT ... FOR UPDATE), then checks
If-Match against it: concurrent writes of one item queue, and each sees the one before. Without
If-Match every one of them applies; with it, only those naming the ETag current at their turn.
Every versioned write goes through `commit_or_raise`: a unique-constraint violation becomes
409 and an update whose version column matched no row (a database without row locks, such as
SQLite, let another write in first) becomes 412, never a 500.

Inside `deferred_commits(session)` (an idempotent request: the change and its stored answer
commit together), `commit_or_raise` only flushes, so that violations still raise the same
409/412, and the caller commits once at the end; a direct `session.commit()` meanwhile is
refused (`CommitDeferredError`) rather than splitting the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from shelf.core.errors import ConflictError, PreconditionFailedError

__all__ = [
    "TAKEN",
    "CommitDeferredError",
    "apply_changes",
    "check_if_match",
    "commit_or_raise",
    "deferred_commits",
]

DEFERRED = "shelf.commit_deferred"  # a session.info key: commit_or_raise only flushes
TAKEN = "The change conflicts with existing data (a value that must be unique is taken)."


def check_if_match(if_match_header: str | None, current_etag: str) -> None:
    """412 unless If-Match is absent, `*`, or names the current ETag (strong comparison)."""
    if if_match_header is None:
        return
    offered = [tag.strip() for tag in if_match_header.split(",")]
    if "*" not in offered and current_etag not in offered:
        raise PreconditionFailedError(
            f"The resource has changed since you read it (its ETag is now {current_etag}); "
            "GET it again and retry with the new ETag."
        )


def commit_or_raise(session: Session, *, what: str, conflict: ConflictError | None = None) -> None:
    """Commit (flush, inside `deferred_commits`); a taken unique value raises `conflict` (409),
    a concurrent update 412."""
    try:
        if session.info.get(DEFERRED):
            session.flush()
        else:
            session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise conflict or ConflictError(TAKEN) from exc
    except StaleDataError as exc:
        session.rollback()
        raise PreconditionFailedError(
            f"The {what} was changed by someone else meanwhile; GET it again and retry."
        ) from exc


def apply_changes(
    session: Session,
    target: object,
    changes: dict[str, Any],
    *,
    what: str,
    conflict: ConflictError | None = None,
) -> None:
    """Set `changes` on `target` and commit them (`commit_or_raise`)."""
    for name, value in changes.items():
        setattr(target, name, value)
    commit_or_raise(session, what=what, conflict=conflict)


class CommitDeferredError(RuntimeError):
    """A direct `session.commit()` inside `deferred_commits`: a bug, answered as a 500."""


@contextmanager
def deferred_commits(session: Session) -> Iterator[None]:
    """Within it, `commit_or_raise` flushes instead of committing: the caller commits once,
    after adding what must land in the same transaction (an idempotency record)."""
    session.info[DEFERRED] = True
    try:
        yield
    finally:
        session.info.pop(DEFERRED, None)


@event.listens_for(Session, "before_commit")
def _refuse_commits_while_deferred(session: Session) -> None:
    # A service that commits by itself would split the change from its stored answer (and, on
    # PostgreSQL, end the request's advisory lock early): fail loudly instead.
    if session.info.get(DEFERRED):
        raise CommitDeferredError(
            "session.commit() during an idempotent request: commit through "
            "shelf.core.concurrency.commit_or_raise, which defers to the request's one commit."
        )
