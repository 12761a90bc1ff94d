"""The table of idempotency keys and the responses stored with them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shelf.core.db import Base, UTCDateTime, utcnow

__all__ = ["IdempotencyRecord"]


class IdempotencyRecord(Base):
    """A caller's key, the fingerprint of its request, and the response it got.

    `status` is None while the first request is in flight; the row is written in the same
    transaction as the change it answers, so a change and its stored answer exist together.
    """

    __tablename__ = "idempotency_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    caller: Mapped[str] = mapped_column(String(300))  # principal kind and subject
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of method, path and body
    status: Mapped[int | None] = mapped_column(Integer)
    headers: Mapped[str] = mapped_column(Text, default="")  # JSON object
    body: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    __table_args__ = (
        UniqueConstraint("caller", "key"),
        {"sqlite_autoincrement": True},
    )
