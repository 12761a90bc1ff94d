"""Business rules of the catalogue.

Writes take the session and own its transaction; reads take the engine and use no transaction.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import BindParameter, Engine, Row, Select, bindparam, or_, select
from sqlalchemy.orm import Session

from shelf.books.models import Book
from shelf.books.schemas import BookCreate, BookQuery, BookUpdate
from shelf.core.concurrency import apply_changes, check_if_match, commit_or_raise
from shelf.core.db import PLANNED_PER_VALUES
from shelf.core.errors import ConflictError, NotFoundError
from shelf.core.page_reads import paginate
from shelf.core.pagination import Listing, contains

__all__ = [
    "BookOnLoanError",
    "create_book",
    "delete_book",
    "etag",
    "get_book",
    "list_books",
    "read_book",
    "replace_book",
    "update_book",
]

MAX_ID = 2**31 - 1
BY_ID = select(Book.__table__, Book.available).where(Book.__table__.c.id == bindparam("id"))


FILTERS = ("author", "published_year", "isbn", "q")


def _filtered(query: BookQuery) -> tuple[Select[Book], dict[str, Any]]:
    """The statement of the filters `query` sets, and the values of its parameters."""
    values = {name: getattr(query, name) for name in FILTERS if getattr(query, name) is not None}
    if "q" in values:
        values["q"] = contains(values["q"])
    return _filter_statement(frozenset(values)), values


@functools.lru_cache(maxsize=1 << len(FILTERS))  # every set of filters
def _filter_statement(filters: frozenset[str]) -> Select[Book]:
    """Books, filtered by the parameters named `filters`; built once per set of filters."""
    statement = select(Book)
    if "author" in filters:
        statement = statement.where(Book.author == bindparam("author"))
    if "published_year" in filters:
        statement = statement.where(Book.published_year == bindparam("published_year"))
    if "isbn" in filters:
        statement = statement.where(Book.isbn == bindparam("isbn"))
    if "q" in filters:
        pattern: BindParameter[str] = bindparam("q")
        statement = statement.where(
            or_(Book.title.ilike(pattern, escape="\\"), Book.author.ilike(pattern, escape="\\"))
        ).execution_options(**{PLANNED_PER_VALUES: True})  # how many match depends on the term
    return statement


def etag(book: Book | Row[Any], *, api_version: int = 1) -> str:
    """A strong ETag that changes on every write, and differs between the API versions'
    representations of the same book."""
    if api_version == 1:
        return f'"book-{book.id}-v{book.version}"'
    return f'"book-{book.id}-v{book.version}-api{api_version}"'


def list_books(engine: Engine, *, query: BookQuery) -> Listing:
    """One page of books matching the filters (plain rows), and how many match in all."""
    with engine.connect() as connection:
        statement, params = _filtered(query)
        return paginate(connection, statement, params, query)


def get_book(session: Session, *, book_id: int, lock: bool = False) -> Book:
    """The book with this id, or NotFoundError; `lock` holds its row until the commit."""
    book = None
    if 0 < book_id <= MAX_ID:
        # Locked, the row is read again even if this session holds an older copy.
        book = session.get(Book, book_id, with_for_update=lock or None, populate_existing=lock)
    if book is None:
        raise NotFoundError(f"There is no book with id {book_id}.")
    return book


def read_book(engine: Engine, *, book_id: int) -> Row[Any]:
    """The book with this id as a plain row, for reading only; or NotFoundError."""
    row = None
    if 0 < book_id <= MAX_ID:
        # A Core statement on `db.reads` (autocommit): one round trip, no ORM identity map.
        with engine.connect() as connection:
            row = connection.execute(BY_ID, {"id": book_id}).first()
    if row is None:
        raise NotFoundError(f"There is no book with id {book_id}.")
    return row


def create_book(session: Session, *, data: BookCreate) -> Book:
    """Add a book to the catalogue."""
    book = Book(**data.model_dump())
    session.add(book)
    commit_or_raise(session, what="book", conflict=_isbn_taken(data.isbn))
    return book


def replace_book(
    session: Session, *, book_id: int, data: BookCreate, if_match: str | None = None
) -> Book:
    """Replace every field of a book (PUT); `if_match` guards against lost updates."""
    return _apply(session, _current(session, book_id, if_match), data.model_dump())


def update_book(
    session: Session, *, book_id: int, data: BookUpdate, if_match: str | None = None
) -> Book:
    """Change only the fields that were sent (PATCH)."""
    changes = data.model_dump(exclude_unset=True)
    return _apply(session, _current(session, book_id, if_match), changes)


def delete_book(session: Session, *, book_id: int, if_match: str | None = None) -> None:
    """Remove a book; not while copies of it are on loan, nor once it has loans on record."""
    book = _current(session, book_id, if_match)
    if book.on_loan:
        raise BookOnLoanError(
            f"{book.on_loan} copies of book {book_id} are on loan: it can be deleted once "
            "they are returned."
        )
    session.delete(book)
    # Returned loans keep their book (a foreign key): the catalogue keeps it too.
    commit_or_raise(session, what="book", conflict=_has_loans(book_id))


def _current(session: Session, book_id: int, if_match: str | None) -> Book:
    # Locked first, so concurrent writes of one book queue: each sees the one before.
    book = get_book(session, book_id=book_id, lock=True)
    check_if_match(if_match, etag(book))
    return book


def _apply(session: Session, book: Book, changes: dict[str, Any]) -> Book:
    # The row is locked (`_current`): no loan changes `on_loan` until this commits.
    copies = changes.get("copies")
    if copies is not None and copies < book.on_loan:
        raise _copies_on_loan(book, copies)
    # The version column makes a concurrent write fail at commit instead of being overwritten.
    conflict = _isbn_taken(changes.get("isbn"))
    apply_changes(session, book, changes, what="book", conflict=conflict)
    return book


class BookOnLoanError(ConflictError):
    """409: copies of the book are on loan."""

    code = "BOOK_ON_LOAN"


def _copies_on_loan(book: Book, copies: int) -> BookOnLoanError:
    return BookOnLoanError(
        f"{book.on_loan} copies of book {book.id} are on loan: copies cannot go below that.",
        details=[
            {
                "field": "copies",
                "issue": f"{copies} is fewer than the {book.on_loan} copies on loan",
                "hint": f"Send {book.on_loan} or more, or wait until copies are returned.",
            }
        ],
    )


def _has_loans(book_id: int) -> ConflictError:
    return ConflictError(
        f"Book {book_id} has loans on record and stays in the catalogue; set its copies to 0 "
        "to take it off the shelves."
    )


def _isbn_taken(isbn: str | None) -> ConflictError:
    return ConflictError(
        f"A book with ISBN {isbn} already exists.",
        details=[
            {
                "field": "isbn",
                "issue": "already used by another book",
                "hint": "Look the book up with ?isbn= and update it instead.",
            }
        ],
    )
