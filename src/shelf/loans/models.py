"""The loan table."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import ForeignKey, Index, text
from sqlalchemy.orm import Mapped, mapped_column

from shelf.core.db import Base, UTCDateTime, utcnow

__all__ = ["Loan"]


class Loan(Base):
    """One copy of a book lent to a user; active until `returned_at` is set.

    A user holds at most one active loan of a book (a partial unique index); a book is never
    lent beyond its copies (`books.on_loan` counts the active loans, changed in one guarded
    UPDATE).
    """

    __tablename__ = "loans"
    __audit__: ClassVar[str] = "loan"  # audited as loan.create, .update, .delete

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="RESTRICT"), index=True)
    borrowed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_loans_user_id_id", "user_id", "id"),
        Index(
            "uq_loans_active_user_book",
            "user_id",
            "book_id",
            unique=True,
            postgresql_where=text("returned_at IS NULL"),
            sqlite_where=text("returned_at IS NULL"),
        ),
        {"sqlite_autoincrement": True},
    )
