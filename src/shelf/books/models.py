"""The book table."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, column_property, mapped_column

from shelf.core.db import Base, UTCDateTime, utcnow

__all__ = ["Book"]


class Book(Base):
    """A title in the catalogue; `version` guards against lost concurrent updates."""

    __tablename__ = "books"
    __audit__: ClassVar[str] = "book"  # the audit log records book.create, .update, .delete

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    author: Mapped[str] = mapped_column(String(200))
    isbn: Mapped[str | None] = mapped_column(String(13), unique=True)
    published_year: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    copies: Mapped[int] = mapped_column(Integer, default=1)
    # Copies lent out now; `copies - on_loan` are available (loans change both in one UPDATE).
    on_loan: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Read with the row, under its name: a list's rows go to JSON as the database gives them.
    available: Mapped[int] = column_property((copies - on_loan).label("available"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's declared form
    # Every sortable field ends with the id, as the list's ORDER BY does, so a page is read from
    # the index in order; the leading column still serves the equality filters.
    __table_args__ = (
        Index("ix_books_title_id", "title", "id"),
        Index("ix_books_author_id", "author", "id"),
        Index("ix_books_author_title_id", "author", "title", "id"),  # ?author=, by title
        Index("ix_books_published_year_id", "published_year", "id"),
        Index("ix_books_created_at_id", "created_at", "id"),
        # `q` (ILIKE '%q%') on PostgreSQL; SQLite has no trigram index.
        Index(
            "ix_books_title_trgm",
            "title",
            postgresql_using="gin",
            postgresql_ops={"title": "gin_trgm_ops"},
            postgresql_with={"fastupdate": "off"},  # no pending list to read (migration 0008)
        ),
        Index(
            "ix_books_author_trgm",
            "author",
            postgresql_using="gin",
            postgresql_ops={"author": "gin_trgm_ops"},
            postgresql_with={"fastupdate": "off"},  # no pending list to read (migration 0008)
        ),
        {"sqlite_autoincrement": True},  # ids are never reused (migration 0007)
    )
