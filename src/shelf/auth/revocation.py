"""Access tokens revoked before they expire: refused by every worker within one second.

The database keeps each revoked token's `jti` until the token would have expired. Each process
holds the set in memory and reads what was revoked since its last look at most every
`REFRESH_SECONDS`: a bearer request costs a set look-up, and one request in a few thousand the
read. A process that cannot read the table (the database is down) refuses bearer tokens it
cannot vouch for after `STALE_SECONDS`, rather than honour one that may have been revoked.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from shelf.auth.models import RevokedToken
from shelf.core.db import utcnow
from shelf.core.errors import AppError, ServiceUnavailableError

__all__ = ["REFRESH_SECONDS", "Revocations", "revocations", "revoke_access_token"]

REFRESH_SECONDS = 0.5
STALE_SECONDS = 5.0
# Revocations committed this long after their `revoked_at` are still seen.
OVERLAP = timedelta(seconds=10)


class Revocations:
    """This process's view of the revoked tokens, refreshed from the database."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._revoked: dict[str, datetime] = {}
        self._since: datetime | None = None
        self._refreshed_at = float("-inf")

    def is_revoked(self, jti: str, *, engine: Engine) -> bool:
        """Whether the token `jti` was revoked, as of at most REFRESH_SECONDS ago."""
        if self._clock() - self._refreshed_at >= REFRESH_SECONDS:
            self._refresh(engine)
        return jti in self._revoked

    def add(self, jti: str, expires_at: datetime) -> None:
        """Remember a revocation made by this process at once."""
        self._revoked[jti] = expires_at

    def clear(self) -> None:
        """Forget everything (tests)."""
        with self._lock:
            self._revoked.clear()
            self._since = None
            self._refreshed_at = float("-inf")

    def _refresh(self, engine: Engine) -> None:
        with self._lock:  # one thread reads; the others wait for its answer
            started = self._clock()
            if started - self._refreshed_at < REFRESH_SECONDS:
                return
            now = utcnow()
            table = RevokedToken.__table__
            statement = select(table.c.jti, table.c.expires_at).where(table.c.expires_at > now)
            if self._since is not None:
                statement = statement.where(table.c.revoked_at >= self._since - OVERLAP)
            try:
                with engine.connect() as connection:
                    rows = connection.execute(statement).all()
            except (SQLAlchemyError, AppError) as exc:
                if started - self._refreshed_at > STALE_SECONDS:
                    raise ServiceUnavailableError(
                        "Revoked tokens cannot be checked while the database is unavailable; "
                        "retry shortly.",
                        headers={"Retry-After": "1"},
                    ) from exc
                return
            self._revoked = {
                jti: expires for jti, expires in self._revoked.items() if expires > now
            } | {row.jti: row.expires_at for row in rows}
            self._since = now
            self._refreshed_at = started


revocations = Revocations()


def revoke_access_token(session: Session, *, jti: str, expires_at: datetime) -> None:
    """Revoke the access token `jti` (idempotent); every worker refuses it within a second."""
    try:
        session.execute(insert(RevokedToken).values(jti=jti, expires_at=expires_at))
        session.commit()
    except IntegrityError:  # revoked already
        session.rollback()
    revocations.add(jti, expires_at)
