"""The rules of lending, called as services: copies counted, one active loan per book, returns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from apiflask import APIFlask

from shelf.auth.models import User
from shelf.books.models import Book
from shelf.core.errors import NotFoundError, ValidationFailedError
from shelf.core.pagination import Listing
from shelf.core.principal import Principal
from shelf.extensions import db
from shelf.loans import service
from shelf.loans.models import Loan
from shelf.loans.schemas import LoanCreate, LoanQuery
from tests.support.loans import principal_of
from tests.support.people import make_user

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LIBRARIAN_KEY = Principal(
    kind="api_key", subject="key:1", name="desk", scopes=frozenset({"loans:admin"})
)


def _book(app: APIFlask, copies: int = 1) -> int:
    with app.app_context():
        book = Book(title="Dune", author="Frank Herbert", copies=copies)
        db.session.add(book)
        db.session.commit()
        return book.id


def _on_loan(app: APIFlask, book_id: int) -> tuple[int, int]:
    """The book's copies on loan, and its version."""
    with app.app_context():
        book = db.session.get(Book, book_id)
        assert book is not None
        return book.on_loan, book.version


def _lend(app: APIFlask, user: User, book_id: int, **kwargs: Any) -> Loan:
    with app.app_context():
        return service.create_loan(
            db.session,
            user_id=user.id,
            data=LoanCreate(book_id=book_id, **kwargs),
            actor=principal_of(user),
            now=NOW,
        )


def _list(app: APIFlask, user: User, now: datetime = NOW, **filters: Any) -> Listing:
    with app.app_context():
        return service.list_loans(
            db.reads, user_id=user.id, query=LoanQuery(**filters), actor=principal_of(user), now=now
        )


def test_a_loan_counts_a_copy_and_runs_its_days(app: APIFlask) -> None:
    member, book_id = make_user(app), _book(app, copies=2)
    loan = _lend(app, member, book_id, days=21)
    assert (loan.user_id, loan.book_id, loan.returned_at) == (member.id, book_id, None)
    assert loan.due_at - loan.borrowed_at == timedelta(days=21)
    assert _on_loan(app, book_id) == (1, 2)  # the version moves with the count


def test_the_default_is_fourteen_days(app: APIFlask) -> None:
    loan = _lend(app, make_user(app), _book(app))
    assert loan.due_at == NOW + timedelta(days=14)


def test_the_last_copy_cannot_be_lent_twice(app: APIFlask) -> None:
    book_id = _book(app, copies=1)
    _lend(app, make_user(app), book_id)
    with pytest.raises(service.BookUnavailableError):
        _lend(app, make_user(app), book_id)
    assert _on_loan(app, book_id) == (1, 2)


def test_a_second_active_loan_of_one_book_is_refused_and_counts_nothing(app: APIFlask) -> None:
    member, book_id = make_user(app), _book(app, copies=5)
    _lend(app, member, book_id)
    with pytest.raises(service.AlreadyBorrowedError):
        _lend(app, member, book_id)
    assert _on_loan(app, book_id) == (1, 2)  # the guarded UPDATE rolled back with the insert


def test_a_returned_book_may_be_borrowed_again(app: APIFlask) -> None:
    member, book_id = make_user(app), _book(app)
    first = _lend(app, member, book_id)
    with app.app_context():
        service.return_loan(db.session, loan_id=first.id, actor=principal_of(member), now=NOW)
    again = _lend(app, member, book_id)
    assert again.id != first.id
    assert _on_loan(app, book_id) == (1, 4)


def test_returning_frees_the_copy_once(app: APIFlask) -> None:
    member, book_id = make_user(app), _book(app)
    loan = _lend(app, member, book_id)
    later = NOW + timedelta(days=3)
    with app.app_context():
        returned = service.return_loan(
            db.session, loan_id=loan.id, actor=principal_of(member), now=later
        )
        assert returned.returned_at == later
    assert _on_loan(app, book_id) == (0, 3)
    with app.app_context(), pytest.raises(service.AlreadyReturnedError):
        service.return_loan(db.session, loan_id=loan.id, actor=principal_of(member), now=later)
    assert _on_loan(app, book_id) == (0, 3)


def test_an_unknown_book_is_a_hint_on_book_id(app: APIFlask) -> None:
    with pytest.raises(ValidationFailedError) as raised:
        _lend(app, make_user(app), 424242)
    assert raised.value.details[0]["field"] == "book_id"


def test_an_unknown_user_is_not_found(app: APIFlask) -> None:
    with app.app_context(), pytest.raises(NotFoundError):
        service.create_loan(
            db.session,
            user_id=999_999,
            data=LoanCreate(book_id=_book(app)),
            actor=LIBRARIAN_KEY,
        )


def test_a_deactivated_account_cannot_borrow(app: APIFlask) -> None:
    with pytest.raises(service.UserInactiveError):
        _lend(app, make_user(app, active=False), _book(app))


def test_a_member_lends_to_no_one_else(app: APIFlask) -> None:
    member, other = make_user(app), make_user(app)
    with app.app_context(), pytest.raises(NotFoundError):
        service.create_loan(
            db.session,
            user_id=other.id,
            data=LoanCreate(book_id=_book(app)),
            actor=principal_of(member),
        )


def test_overdue_is_read_at_the_time_given(app: APIFlask) -> None:
    member = make_user(app)
    loan = _lend(app, member, _book(app), days=7)
    (row,) = _list(app, member).rows
    assert row.overdue is False
    (row,) = _list(app, member, now=loan.due_at + timedelta(seconds=1)).rows
    assert row.overdue is True


def test_filters_pick_active_and_overdue_loans(app: APIFlask) -> None:
    member = make_user(app)
    returned = _lend(app, member, _book(app), days=1)
    with app.app_context():
        service.return_loan(db.session, loan_id=returned.id, actor=principal_of(member), now=NOW)
    short = _lend(app, member, _book(app), days=1)
    long = _lend(app, member, _book(app), days=30)
    in_a_week = NOW + timedelta(days=7)

    def ids(**filters: Any) -> list[int]:
        return [row.id for row in _list(app, member, now=in_a_week, **filters).rows]

    assert ids() == [returned.id, short.id, long.id]
    assert ids(active=True) == [short.id, long.id]
    assert ids(active=False) == [returned.id]
    assert ids(overdue=True) == [short.id]
    assert ids(overdue=False) == [returned.id, long.id]
    assert ids(active=True, overdue=False) == [long.id]
    assert ids(sort="-due_at") == [long.id, short.id, returned.id]


def test_a_list_is_one_users_alone(app: APIFlask) -> None:
    member, other = make_user(app), make_user(app)
    book_id = _book(app, copies=2)
    mine, _theirs = _lend(app, member, book_id), _lend(app, other, book_id)
    listing = _list(app, member)
    assert [row.id for row in listing.rows] == [mine.id]
    assert listing.total == 1


def test_asking_again_for_the_last_copy_one_holds_says_so(app: APIFlask) -> None:
    member, book_id = make_user(app), _book(app, copies=1)
    _lend(app, member, book_id)
    with pytest.raises(service.AlreadyBorrowedError):
        _lend(app, member, book_id)
