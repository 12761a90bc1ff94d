"""The audit log's table: rows are only ever inserted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shelf.core.db import Base, UTCDateTime, utcnow

__all__ = ["AuditRecord"]


class AuditRecord(Base):
    """One mutation or sign-in: when, by whom, what it did to what, and the fields it changed."""

    __tablename__ = "audit_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_kind: Mapped[str] = mapped_column(String(20))  # user, api_key, client, anonymous, system
    actor_id: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))  # e.g. book.create, user.sign_in_failed
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(128))  # as long as X-Request-ID may be
    client_ip: Mapped[str | None] = mapped_column(String(64))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # never a secret

    # The list is newest first (`at`, then `id`, descending), filtered by actor, target or
    # action: each filter's index ends with the sort, so a page is one index range, read backwards.
    __table_args__ = (
        Index("ix_audit_records_at_id", "at", "id"),
        Index("ix_audit_records_actor_at_id", "actor_kind", "actor_id", "at", "id"),
        Index("ix_audit_records_target_at_id", "target_type", "target_id", "at", "id"),
        Index("ix_audit_records_action_at_id", "action", "at", "id"),
        {"sqlite_autoincrement": True},
    )
