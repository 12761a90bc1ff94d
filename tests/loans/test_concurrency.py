"""Loans racing each other on PostgreSQL, through a real server process: a book is never lent
beyond its copies, and a loan comes back once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from shelf.auth.models import User
from shelf.books.models import Book
from shelf.loans.models import Loan
from tests.support.factories import make_key, migrate
from tests.support.loans import loans_path, return_path
from tests.support.servers import ServerProcess
from tests.support.services import empty_postgresql_database

pytestmark = pytest.mark.server

MEMBERS, COPIES, ROUNDS = 20, 3, 20


@pytest.fixture
def database() -> Iterator[str]:
    """A PostgreSQL database of this test's own, migrated."""
    with empty_postgresql_database() as url:
        migrate(url)
        yield url


@pytest.fixture
def server(database: str, start_server: Callable[..., ServerProcess]) -> Iterator[ServerProcess]:
    """`shelf serve` on it: four workers of eight threads, every request let through."""
    server = start_server(
        DATABASE_URL=database,
        WEB_CONCURRENCY="4",
        WEB_THREADS="8",
        DB_POOL_SIZE="8",
        DEFAULT_RATE_LIMIT="100000",
    )
    yield server
    server.kill()  # before its database is dropped


def _members(url: str) -> list[int]:
    engine = create_engine(url)
    with Session(engine) as session:
        users = [
            User(email=f"m{n}@example.org", full_name=f"M {n}", password_hash="-", role="member")
            for n in range(MEMBERS)
        ]
        session.add_all(users)
        session.commit()
        ids = [user.id for user in users]
    engine.dispose()
    return ids


def _new_book(url: str) -> int:
    engine = create_engine(url)
    with Session(engine) as session:
        book = Book(title="Dune", author="Frank Herbert", copies=COPIES)
        session.add(book)
        session.commit()
        book_id = book.id
    engine.dispose()
    return book_id


def _counts(url: str, book_id: int) -> tuple[int, int]:
    """The book's copies on loan, and its active loans."""
    engine = create_engine(url)
    with Session(engine) as session:
        on_loan = session.scalar(select(Book.on_loan).where(Book.id == book_id))
        active = session.scalar(
            select(func.count()).where(Loan.book_id == book_id, Loan.returned_at.is_(None))
        )
    engine.dispose()
    assert on_loan is not None
    assert active is not None
    return on_loan, active


def _at_once(requests_to_send: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    """Send every request from a thread of its own, released together."""
    gate = threading.Barrier(len(requests_to_send))

    def send(request: Callable[[], requests.Response]) -> requests.Response:
        gate.wait(timeout=30)
        return request()

    with ThreadPoolExecutor(len(requests_to_send)) as pool:
        return list(pool.map(send, requests_to_send))


def _statuses(responses: list[requests.Response]) -> Counter[tuple[int, Any]]:
    return Counter(
        (r.status_code, r.json().get("code") if r.status_code >= 400 else None) for r in responses
    )


def _lend(url: str, desk: dict[str, str], member: int, book_id: int) -> requests.Response:
    return requests.post(
        url + loans_path(member), json={"book_id": book_id}, headers=desk, timeout=30
    )


def _return(url: str, desk: dict[str, str], loan_id: int) -> requests.Response:
    return requests.post(url + return_path(loan_id), headers=desk, timeout=30)


def test_twenty_members_race_for_three_copies(server: ServerProcess, database: str) -> None:
    desk = {"X-API-KEY": make_key(database, "loans:admin")}
    members = _members(database)
    for _ in range(ROUNDS):
        book_id = _new_book(database)
        lent = _at_once([partial(_lend, server.url, desk, member, book_id) for member in members])
        assert _statuses(lent) == {(201, None): COPIES, (409, "BOOK_UNAVAILABLE"): MEMBERS - COPIES}
        assert _counts(database, book_id) == (COPIES, COPIES)
        # Each loan returned twice at once: once each, and every copy is back.
        loans = [answer.json()["id"] for answer in lent if answer.status_code == 201]
        returned = _at_once([partial(_return, server.url, desk, loan) for loan in loans * 2])
        assert _statuses(returned) == {(200, None): COPIES, (409, "ALREADY_RETURNED"): COPIES}
        assert _counts(database, book_id) == (0, 0)
