"""Database trouble on a private PostgreSQL: a hung server fails a request at the statement
deadline, a lost connection costs no read, and a write on one fails cleanly."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from apiflask import APIFlask

from shelf.app import create_app
from shelf.auth import api_keys
from shelf.core import statement_deadline
from shelf.core.bulkhead import Bulkhead, BulkheadFullError
from shelf.extensions import db
from tests.support.checks import assert_problem
from tests.support.factories import make_key, make_settings, migrate
from tests.support.private_postgres import PrivatePostgres, private_postgres

STATEMENT_TIMEOUT_MS = 2000
# The guarantee: a request that waits on a hung database is answered by then.
DEADLINE = STATEMENT_TIMEOUT_MS / 1000 + 0.5
BOOK = {"title": "Dune", "author": "Frank Herbert"}


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        migrate(server.url)
        yield server


@pytest.fixture
def app(postgres: PrivatePostgres) -> Iterator[APIFlask]:
    settings = make_settings(
        database_url=postgres.url,
        db_statement_timeout_ms=STATEMENT_TIMEOUT_MS,
        cache_enabled=False,
        web_threads=4,
    )
    app = create_app(settings)
    app.config["ADMIN_KEY"] = make_key(postgres.url, "admin")
    yield app
    api_keys.clear_key_cache()
    with app.app_context():
        db.dispose()


def _timed(call: object) -> tuple[object, float]:
    started = time.monotonic()
    result = call()  # type: ignore[operator]
    return result, time.monotonic() - started


def test_a_read_on_a_hung_database_is_503_at_the_statement_deadline(
    app: APIFlask, postgres: PrivatePostgres
) -> None:
    anon = app.test_client()
    assert anon.get("/api/v1/books/999999").status_code == 404  # a pooled connection, in use
    postgres.freeze()
    thaw = threading.Timer(3 * DEADLINE, postgres.thaw)  # the old code waited for this
    thaw.start()
    try:
        response, took = _timed(lambda: anon.get("/api/v1/books/999999"))
        assert_problem(response, 503, "SERVICE_UNAVAILABLE")
        assert response.headers["Retry-After"]  # type: ignore[attr-defined]
        assert took < DEADLINE, f"answered after {took:.2f} s"
        # A new connection cannot be made either: refused within the connect timeout.
        response, took = _timed(lambda: anon.get("/api/v1/books?page=1"))
        assert_problem(response, 503, "SERVICE_UNAVAILABLE")
        assert took < DEADLINE, f"answered after {took:.2f} s"
    finally:
        thaw.cancel()
        postgres.thaw()
    assert anon.get("/api/v1/books/999999").status_code == 404  # served again at once


def test_a_write_on_a_hung_database_is_503_at_the_statement_deadline(
    app: APIFlask, postgres: PrivatePostgres
) -> None:
    client = app.test_client()
    client.environ_base["HTTP_X_API_KEY"] = app.config["ADMIN_KEY"]
    assert client.post("/api/v1/books", json=BOOK).status_code == 201
    postgres.freeze()
    thaw = threading.Timer(3 * DEADLINE, postgres.thaw)
    thaw.start()
    try:
        response, took = _timed(lambda: client.post("/api/v1/books", json=BOOK))
        assert_problem(response, 503, "SERVICE_UNAVAILABLE")
        assert took < DEADLINE, f"answered after {took:.2f} s"
    finally:
        thaw.cancel()
        postgres.thaw()
    assert client.post("/api/v1/books", json=BOOK).status_code == 201


def test_reads_after_the_connections_were_ended_succeed(
    app: APIFlask, postgres: PrivatePostgres
) -> None:
    anon, keyed = app.test_client(), app.test_client()
    keyed.environ_base["HTTP_X_API_KEY"] = app.config["ADMIN_KEY"]
    for client in (anon, keyed):  # both pools hold a connection
        assert client.get("/api/v1/books/999999").status_code == 404
    assert postgres.terminate_connections() >= 2
    api_keys.clear_key_cache()  # the key is checked on the database again
    assert keyed.get("/api/v1/templates?page=1").status_code == 200
    assert postgres.terminate_connections() >= 1
    assert anon.get("/api/v1/books/999999").status_code == 404
    assert postgres.terminate_connections() >= 1
    assert anon.get("/api/v1/books?page=1").status_code == 200
    assert postgres.terminate_connections() >= 1
    assert anon.get("/readiness").status_code == 200


def test_a_write_after_the_connections_were_ended_is_a_clean_503_then_succeeds(
    app: APIFlask, postgres: PrivatePostgres
) -> None:
    client = app.test_client()
    client.environ_base["HTTP_X_API_KEY"] = app.config["ADMIN_KEY"]
    assert client.post("/api/v1/books", json=BOOK).status_code == 201  # the key is remembered
    assert postgres.terminate_connections() >= 1
    response = client.post("/api/v1/books", json=BOOK)
    assert_problem(response, 503, "SERVICE_UNAVAILABLE")
    assert response.headers["Retry-After"]
    assert client.post("/api/v1/books", json=BOOK).status_code == 201


def test_a_commit_or_an_error_from_the_database_leaves_no_question_pending(app: APIFlask) -> None:
    # A question left pending on a database that answered would make it look hung once quiet.
    client = app.test_client()
    client.environ_base["HTTP_X_API_KEY"] = app.config["ADMIN_KEY"]
    book = {**BOOK, "isbn": "9780441172719"}
    assert client.post("/api/v1/books", json=book).status_code == 201  # ends with a commit
    assert statement_deadline.unanswered_since() is None
    assert client.post("/api/v1/books", json=book).status_code == 409  # the database refused it
    assert statement_deadline.unanswered_since() is None


class _Waiting:
    """A driver connection with a command in flight, on one end of a socket pair."""

    def __init__(self) -> None:
        self.ends = socket.socketpair()
        self.pgconn = SimpleNamespace(
            transaction_status=statement_deadline.ACTIVE, socket=self.ends[0].fileno()
        )

    def close(self) -> None:
        statement_deadline.done(self)
        for end in self.ends:
            end.close()


def test_an_answer_to_another_question_leaves_the_waiting_one_owed(app: APIFlask) -> None:
    # While a database freezes, a backend not yet stopped may answer after the question that
    # now waits was asked: the database has been silent since that answer, and owes one.
    waiting = _Waiting()
    statement_deadline.expect(waiting, 60)
    try:
        assert app.test_client().get("/api/v1/books/999999").status_code == 404
        assert statement_deadline.unanswered_since() == statement_deadline.last_answer()
    finally:
        waiting.close()
    assert statement_deadline.unanswered_since() is None


def test_a_question_cut_off_stays_owed_until_the_database_answers(app: APIFlask) -> None:
    waiting = _Waiting()
    asked = time.monotonic()
    statement_deadline.expect(waiting, 0.0)
    try:
        for _ in range(100):  # the watchdog cuts it within a tick
            if statement_deadline.cut_by_deadline():
                break
            time.sleep(0.01)
        else:
            raise AssertionError("the watchdog did not cut a connection past its deadline")
        silent_since = statement_deadline.unanswered_since()
        assert silent_since is not None
        assert silent_since <= asked + 0.01
    finally:
        waiting.close()
    assert app.test_client().get("/api/v1/books/999999").status_code == 404
    assert statement_deadline.unanswered_since() is None


def _hold(bulkhead: Bulkhead, seconds: float) -> threading.Thread:
    """Another thread that takes a slot of `bulkhead` and gives it back after `seconds`."""
    entered = threading.Event()

    def hold() -> None:
        holder = bulkhead.enter()
        entered.set()
        time.sleep(seconds)
        bulkhead.leave(holder)

    thread = threading.Thread(target=hold)
    thread.start()
    entered.wait()
    return thread


def test_a_thread_waits_for_a_slot_while_the_database_answers() -> None:
    bulkhead = Bulkhead(1, wait=0.1, unanswered_since=lambda: None)  # nothing left unanswered
    holder_thread = _hold(bulkhead, 0.2)
    holder = bulkhead.enter()  # the slot comes free within the wait
    bulkhead.leave(holder)
    holder_thread.join()


def test_a_slot_held_by_a_thread_that_waits_on_something_else_refuses_nobody() -> None:
    # e.g. a write that holds its connection while a paused Redis keeps it waiting
    bulkhead = Bulkhead(1, wait=0.1, unanswered_since=lambda: None)
    holder_thread = _hold(bulkhead, 0.4)
    time.sleep(0.2)  # held longer than the wait, and the database owes no answer
    bulkhead.leave(bulkhead.enter())  # waited for the slot: no BulkheadFullError
    holder_thread.join()


def test_a_thread_is_refused_at_once_when_a_question_went_unanswered_for_the_wait() -> None:
    asked = time.monotonic()
    bulkhead = Bulkhead(1, wait=0.2, unanswered_since=lambda: asked)
    holder_thread = _hold(bulkhead, 1.0)
    time.sleep(0.3)  # the only slot is held, and the database has answered nothing since
    started = time.monotonic()
    with pytest.raises(BulkheadFullError):
        bulkhead.enter()
    assert time.monotonic() - started < 0.1  # no thread is held waiting on a hung database
    holder_thread.join()


def test_a_database_asked_and_silent_for_the_wait_is_hung_whoever_holds_the_slots() -> None:
    asked = time.monotonic() - 0.9  # nothing answered since: the connections it hung were cut
    bulkhead = Bulkhead(1, wait=0.2, unanswered_since=lambda: asked)
    holder_thread = _hold(bulkhead, 1.0)  # the slot a cut connection freed, taken just now
    started = time.monotonic()
    with pytest.raises(BulkheadFullError):
        bulkhead.enter()
    assert time.monotonic() - started < 0.1  # not another wait for every thread that comes
    holder_thread.join()


def test_a_burst_after_a_quiet_spell_waits_for_slots_instead_of_being_refused() -> None:
    asked = time.monotonic()  # the burst's first question, to a database left idle for long
    bulkhead = Bulkhead(1, wait=0.2, unanswered_since=lambda: asked)
    holder_thread = _hold(bulkhead, 0.1)  # took the slot just now, and asked
    time.sleep(0.05)
    bulkhead.leave(bulkhead.enter())  # waited for the slot: no BulkheadFullError
    holder_thread.join()


def test_a_thread_holding_a_slot_may_take_a_second_connection() -> None:
    bulkhead = Bulkhead(1, wait=0.0, unanswered_since=lambda: None)
    outer = bulkhead.enter()
    inner = bulkhead.enter()  # e.g. a read while its session holds the key check's connection
    bulkhead.leave(inner)
    bulkhead.leave(outer)
    bulkhead.leave(bulkhead.enter())  # and the slot is free again
