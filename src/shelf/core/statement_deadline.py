"""A client-side deadline on every round trip to PostgreSQL: a hung server cannot hold a thread.

`statement_timeout` is enforced by the server, so a server that hangs (a stalled host, a
stopped process) enforces nothing, and TCP keepalives do not notice either: the kernel still
acknowledges. So each process runs one watchdog thread. A thread about to wait on the server
notes its connection and deadline (`expect`); the watchdog shuts down the socket of any
connection still busy past its deadline. The blocked read then fails at once, SQLAlchemy
discards that connection (and the rest of its pool, which later checkouts replace), and the
caller gets `DeadlineExceededError`, an `OperationalError` like any database failure: a 503.

The cost on the hot path is a dict assignment and a clock read per statement, and a removal
per checkin.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import socket
import threading
import time
from typing import Any

from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext
from sqlalchemy.exc import OperationalError

__all__ = [
    "DeadlineExceededError",
    "cut_by_deadline",
    "done",
    "expect",
    "last_answer",
    "unanswered_since",
    "watch",
]

log = logging.getLogger(__name__)

TICK_SECONDS = 0.1  # how often the watchdog looks: a deadline is enforced this late at most

# id(driver connection) -> (deadline, driver connection, id of the thread waiting on it, when
# it began to wait)
_busy: dict[int, tuple[float, Any, int, float]] = {}
_cut: set[int] = set()  # threads whose connection was cut and who have not seen the error yet
_watchdog_pid = 0
# When the database last answered a round trip or a connect, in any worker forked from this
# process (the clock is the system's): a worker whose connections all wait on row locks sees
# the others' answers, and knows the database is busy, not hung.
_last_answer = multiprocessing.Value("d", time.monotonic(), lock=False)
_connecting: dict[int, float] = {}  # thread id -> when it began to connect
# The oldest question that ended with no answer (its connection cut, or a connect that failed)
# and when it ended: the database owes that answer until it answers anything again.
_lost: tuple[float, float] | None = None
ACTIVE = TransactionStatus.ACTIVE  # a command is in flight


class DeadlineExceededError(OperationalError):
    """A round trip to the database outlived its client-side deadline; its connection was cut."""


def expect(driver_connection: Any, seconds: float) -> None:
    """Note that this thread now waits on `driver_connection`, for `seconds` at most."""
    now = time.monotonic()
    _busy[id(driver_connection)] = (now + seconds, driver_connection, threading.get_ident(), now)


def done(driver_connection: Any) -> None:
    """Forget `driver_connection` (it went back to its pool)."""
    _busy.pop(id(driver_connection), None)


def last_answer() -> float:
    """When (monotonic) a watched database last answered this process or its siblings: a
    statement's result, or a new connection. While it answers, it is slow at worst; when it
    stops, it hangs."""
    return float(_last_answer.value)


def unanswered_since() -> float | None:
    """Since when (monotonic) the database has owed this process an answer and given none, or
    None when it owes nothing: since the oldest question it has not answered (a command in
    flight on a connection, a connect, or one of these cut off), or since its last answer to
    anyone if that came later. Not since the first question after its last answer: while a
    database freezes, a backend not yet stopped may answer a question asked before another
    that now waits, and nothing may be asked after it."""
    answered = float(_last_answer.value)
    asked = [
        since
        for _, connection, _, since in list(_busy.values())
        if getattr(getattr(connection, "pgconn", None), "transaction_status", None) == ACTIVE
    ]
    asked.extend(list(_connecting.values()))
    lost = _lost
    if lost is not None and lost[1] > answered:
        asked.append(lost[0])
    return max(min(asked), answered) if asked else None


def _answered(*args: Any) -> None:
    _last_answer.value = time.monotonic()


def _connect_begins(*args: Any) -> None:
    _connecting[threading.get_ident()] = time.monotonic()


def _connected(*args: Any) -> None:
    _connecting.pop(threading.get_ident(), None)
    _answered()


def _went_unanswered(asked: float) -> None:
    """A question asked at `asked` ended with no answer: the database still owes it."""
    global _lost
    lost = _lost
    if lost is not None and lost[1] > _last_answer.value:
        asked = min(asked, lost[0])
    _lost = (asked, time.monotonic())


def cut_by_deadline() -> bool:
    """True, once, when this thread's last database error came from the watchdog's cut."""
    try:
        _cut.remove(threading.get_ident())
    except KeyError:
        return False
    return True


def watch(engine: Engine, seconds: float, *, autocommit: bool = False) -> None:
    """Give every statement on `engine` a deadline of `seconds`, and every commit and rollback
    unless its connections are in autocommit (then those send nothing)."""
    _start_watchdog()

    def before_statement(conn: Any, cursor: Any, *args: Any) -> None:
        expect(cursor.connection, seconds)

    def before_commit_or_rollback(conn: Any) -> None:
        if not (conn.invalidated or conn.closed):
            expect(conn.connection.driver_connection, seconds)

    event.listen(engine, "before_cursor_execute", before_statement)
    event.listen(engine, "after_cursor_execute", _answered)
    event.listen(engine, "do_connect", _connect_begins)
    event.listen(engine, "connect", _connected)
    if not autocommit:
        event.listen(engine, "commit", before_commit_or_rollback)
        event.listen(engine, "rollback", before_commit_or_rollback)
    event.listen(engine, "handle_error", _name_the_cut)


def _name_the_cut(context: ExceptionContext) -> OperationalError | None:
    connecting_since = _connecting.pop(threading.get_ident(), None)
    if getattr(context.original_exception, "sqlstate", None):  # the database's own error
        _answered()
    elif connecting_since is not None:  # a connect that failed
        _went_unanswered(connecting_since)
    if not cut_by_deadline():
        return None
    return DeadlineExceededError(
        context.statement,
        None,
        context.original_exception,
        hide_parameters=True,
        connection_invalidated=True,
    )


def _start_watchdog() -> None:
    global _watchdog_pid
    if _watchdog_pid != os.getpid():
        _watchdog_pid = os.getpid()
        _busy.clear()
        _cut.clear()
        _connecting.clear()
        threading.Thread(target=_watch, name="db-deadline-watchdog", daemon=True).start()


def _restart_in_child() -> None:
    # A forked process has none of its parent's threads.
    if _watchdog_pid:
        _start_watchdog()


os.register_at_fork(after_in_child=_restart_in_child)


def _watch() -> None:
    while True:
        time.sleep(TICK_SECONDS)
        try:
            _cut_overdue(time.monotonic())
        except Exception:  # the watchdog must outlive anything one connection does
            log.exception("database deadline watchdog")


def _cut_overdue(now: float) -> None:
    for key, entry in _busy.copy().items():
        deadline, connection, thread, asked = entry
        pgconn = getattr(connection, "pgconn", None)  # None: not PostgreSQL, nothing to cut
        # Past its deadline but idle: its holder is busy elsewhere; nothing waits on the server.
        if deadline > now or pgconn is None or pgconn.transaction_status != ACTIVE:
            continue
        if _busy.get(key) is not entry:  # a new round trip began meanwhile
            continue
        _busy.pop(key, None)
        _went_unanswered(asked)
        _cut.add(thread)
        log.warning("a database round trip ran past its deadline: cutting its connection")
        # A duplicate descriptor: shutting it down ends the connection for both, and closing
        # it leaves the driver's own descriptor to the driver (which may have closed it by now).
        with (
            contextlib.suppress(Exception),
            socket.socket(fileno=os.dup(pgconn.socket)) as duplicate,
        ):
            duplicate.shutdown(socket.SHUT_RDWR)
