"""Business rules of loans: lending a copy, giving it back, and whose loans a caller sees.

A book is never lent beyond its copies: lending raises `books.on_loan` in one guarded UPDATE
(`on_loan < copies`) in the transaction that inserts the loan; returning lowers it in the one
that marks the loan returned (read again under its row lock, so a loan comes back once).
Both UPDATEs bump the book's version: its ETag changes with `available`. Both paths take the
book's row before the loan's, so concurrent lending and returning queue on the book and never
deadlock. The partial unique index on active (user, book) pairs turns a second active loan of
one book into a 409, even between two requests racing each other.

Members (`loans:read`, `loans:write`) act on their own loans; holders of `loans:admin`
(librarians, admins, API keys granted it) on everyone's. A loan or a list the caller may not
see is answered 404, as if it did not exist: its existence is not disclosed.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    CursorResult,
    Engine,
    Row,
    Select,
    Table,
    and_,
    bindparam,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session

from shelf.auth.models import User
from shelf.books.models import Book
from shelf.core.concurrency import commit_or_raise
from shelf.core.db import utcnow
from shelf.core.errors import ConflictError, NotFoundError, ValidationFailedError
from shelf.core.page_reads import paginate
from shelf.core.pagination import Listing
from shelf.core.principal import Principal
from shelf.loans.models import Loan
from shelf.loans.schemas import LoanCreate, LoanQuery

__all__ = [
    "AlreadyBorrowedError",
    "AlreadyReturnedError",
    "BookUnavailableError",
    "UserInactiveError",
    "create_loan",
    "get_loan",
    "list_loans",
    "may_see",
    "read_loan",
    "return_loan",
]

MAX_ID = 2**31 - 1
BOOKS = cast(Table, Book.__table__)
LOANS = cast(Table, Loan.__table__)
NOW: Any = bindparam("now", type_=Loan.due_at.type)
LEND = (
    update(BOOKS)
    .where(BOOKS.c.id == bindparam("book"), BOOKS.c.on_loan < BOOKS.c.copies)
    .values(on_loan=BOOKS.c.on_loan + 1, version=BOOKS.c.version + 1)
)
GIVE_BACK = (
    update(BOOKS)
    .where(BOOKS.c.id == bindparam("book"), BOOKS.c.on_loan > 0)
    .values(on_loan=BOOKS.c.on_loan - 1, version=BOOKS.c.version + 1)
)
BY_ID = select(LOANS).where(LOANS.c.id == bindparam("id"))
USER_EXISTS = select(User.id).where(User.id == bindparam("id"))
ACTIVE_LOAN = select(LOANS.c.id).where(
    LOANS.c.user_id == bindparam("user"),
    LOANS.c.book_id == bindparam("book"),
    LOANS.c.returned_at.is_(None),
)
IS_OVERDUE = and_(Loan.returned_at.is_(None), Loan.due_at < NOW)
OVERDUE = type_coerce(IS_OVERDUE, Boolean).label("overdue")


class BookUnavailableError(ConflictError):
    """409: every copy of the book is on loan."""

    code = "BOOK_UNAVAILABLE"


class AlreadyBorrowedError(ConflictError):
    """409: the user already has this book on loan."""

    code = "ALREADY_BORROWED"


class AlreadyReturnedError(ConflictError):
    """409: the loan was returned before."""

    code = "ALREADY_RETURNED"


class UserInactiveError(ConflictError):
    """409: a deactivated account cannot borrow."""

    code = "USER_INACTIVE"


def may_see(actor: Principal, user_id: int) -> bool:
    """Whether `actor` may read and manage the loans of user `user_id`."""
    return actor.may("loans:admin") or (actor.user_id is not None and actor.user_id == user_id)


def list_loans(
    engine: Engine,
    *,
    user_id: int,
    query: LoanQuery,
    actor: Principal,
    now: datetime | None = None,
) -> Listing:
    """One page of a user's loans (plain rows, with `overdue` at `now`), and how many match."""
    with engine.connect() as connection:
        if not (may_see(actor, user_id) and 0 < user_id <= MAX_ID) or (
            actor.user_id != user_id and connection.scalar(USER_EXISTS, {"id": user_id}) is None
        ):
            raise _no_user(user_id)
        statement = _filter_statement(query.active, query.overdue)
        params = {"user": user_id, "now": now or utcnow()}
        return paginate(connection, statement, params, query, scope=[("user", str(user_id))])


@functools.lru_cache(maxsize=9)  # every combination of the two filters
def _filter_statement(active: bool | None, overdue: bool | None) -> Select[Any]:
    """A user's loans, filtered; built once per combination of filters."""
    statement = select(Loan).add_columns(OVERDUE).where(Loan.user_id == bindparam("user"))
    if active is not None:
        returned = Loan.returned_at.is_(None) if active else Loan.returned_at.is_not(None)
        statement = statement.where(returned)
    if overdue is not None:
        statement = statement.where(IS_OVERDUE if overdue else ~IS_OVERDUE)
    return statement


def read_loan(engine: Engine, *, loan_id: int, actor: Principal) -> Row[Any]:
    """The loan with this id as a plain row, for reading only; NotFoundError when there is
    none the caller may see."""
    row = None
    if 0 < loan_id <= MAX_ID:
        with engine.connect() as connection:
            row = connection.execute(BY_ID, {"id": loan_id}).first()
    if row is None or not may_see(actor, row.user_id):
        raise _no_loan(loan_id)
    return row


def get_loan(session: Session, *, loan_id: int, actor: Principal) -> Loan:
    """The loan with this id, or NotFoundError when there is none the caller may see."""
    loan = session.get(Loan, loan_id) if 0 < loan_id <= MAX_ID else None
    if loan is None or not may_see(actor, loan.user_id):
        raise _no_loan(loan_id)
    return loan


def create_loan(
    session: Session,
    *,
    user_id: int,
    data: LoanCreate,
    actor: Principal,
    now: datetime | None = None,
) -> Loan:
    """Lend a copy of a book to a user for `data.days` days."""
    now = now or utcnow()
    user = session.get(User, user_id) if may_see(actor, user_id) and 0 < user_id <= MAX_ID else None
    if user is None:
        raise _no_user(user_id)
    if not user.active:
        raise UserInactiveError(f"The account of user {user_id} is deactivated: it cannot borrow.")
    if not _changed(session.execute(LEND, {"book": data.book_id})):
        refusal = _refusal(session, user_id, data.book_id)
        session.rollback()  # nothing was written; end the transaction (SQLite's write lock)
        raise refusal
    loan = Loan(
        user_id=user_id,
        book_id=data.book_id,
        borrowed_at=now,
        due_at=now + timedelta(days=data.days),
    )
    session.add(loan)
    commit_or_raise(session, what="loan", conflict=_borrowed(user_id, data.book_id))
    return loan


def return_loan(
    session: Session, *, loan_id: int, actor: Principal, now: datetime | None = None
) -> Loan:
    """Mark a loan returned, its copy available again."""
    now = now or utcnow()
    loan = get_loan(session, loan_id=loan_id, actor=actor)
    if loan.returned_at is not None:
        raise _returned(loan_id)
    # The book's row first, as lending takes it. `on_loan > 0` keeps the count from going
    # negative should it ever have drifted; the loan is returned all the same.
    session.execute(GIVE_BACK, {"book": loan.book_id})
    # Then the loan's, read again under its lock: a return racing this one waited for it.
    session.refresh(loan, with_for_update=True)
    if loan.returned_at is not None:
        session.rollback()  # returned meanwhile by another request: undo the count
        raise _returned(loan_id)
    loan.returned_at = now  # through the unit of work, so the audit log sees it
    commit_or_raise(session, what="loan")
    return loan


def _refusal(session: Session, user_id: int, book_id: int) -> ConflictError | ValidationFailedError:
    """Why no copy of a book could be lent: there is no such book, the user has it already,
    or every copy is out."""
    if session.scalar(select(BOOKS.c.id).where(BOOKS.c.id == book_id)) is None:
        return _unknown_book(book_id)
    if session.scalar(ACTIVE_LOAN, {"user": user_id, "book": book_id}) is not None:
        return _borrowed(user_id, book_id)
    return _unavailable(book_id)


def _changed(result: object) -> bool:
    """Whether an UPDATE run through the session matched a row."""
    return bool(cast(CursorResult[Any], result).rowcount)


def _no_user(user_id: int) -> NotFoundError:
    # The same answer whether the user does not exist or is not the caller's to see.
    return NotFoundError(f"There is no user with id {user_id}.")


def _no_loan(loan_id: int) -> NotFoundError:
    return NotFoundError(f"There is no loan with id {loan_id}.")


def _unknown_book(book_id: int) -> ValidationFailedError:
    return ValidationFailedError(
        f"There is no book with id {book_id}.",
        details=[
            {
                "field": "book_id",
                "issue": "names no book",
                "hint": "Send the id of a book in the catalogue (GET /api/v1/books).",
            }
        ],
    )


def _unavailable(book_id: int) -> BookUnavailableError:
    return BookUnavailableError(
        f"Every copy of book {book_id} is on loan; try again once one is returned."
    )


def _borrowed(user_id: int, book_id: int) -> AlreadyBorrowedError:
    return AlreadyBorrowedError(
        f"User {user_id} already has book {book_id} on loan; return it before borrowing it again."
    )


def _returned(loan_id: int) -> AlreadyReturnedError:
    return AlreadyReturnedError(f"Loan {loan_id} was already returned.")
