"""A bulkhead on database work: a hung database can hold only some of a worker's threads.

A worker of N threads lets N - 1 of them wait on the database at once (`Bulkhead`); the last one is
left for what needs no database (liveness, cache hits), whatever the database does. A thread holds
its slot while it holds any pooled connection (`BulkheadPool`), so a request that only reads the
cache takes none. A thread that finds every slot taken waits for one while the database keeps
answering, until a question to it has waited `wait` seconds with no answer. A database that
answers nothing for that long hangs, and waiting would only hold another thread; the request is
refused at once (`BulkheadFullError`, a pool timeout: 503 with Retry-After). A slow database
still answers, so under load requests wait their turn; and a database that was merely left idle
is not taken for a hung one when a burst of requests arrives.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool

from shelf.core import statement_deadline

__all__ = ["Bulkhead", "BulkheadFullError", "BulkheadPool"]

LOOK_AGAIN_SECONDS = 0.05  # a thread waiting for a slot looks this often whether the database hangs
HOLDER = "shelf.bulkhead_holder"  # a record_info key: the thread state that took the slot


class BulkheadFullError(PoolTimeoutError):
    """Every database slot of this worker is taken and the database is not freeing them."""


class _Holder:
    """One thread's share of a bulkhead: how many pooled connections it holds."""

    __slots__ = ("connections",)

    def __init__(self) -> None:
        self.connections = 0


class Bulkhead:
    """`slots` threads of a process may hold database connections at once.

    `unanswered_since` tells when the database was first asked what it has not answered yet
    (None when it answered everything): a slot freed by a cut says nothing about whether it
    answers, so a hung database stays hung for the threads that take those slots.
    """

    def __init__(
        self,
        slots: int,
        wait: float,
        unanswered_since: Callable[[], float | None] = statement_deadline.unanswered_since,
    ) -> None:
        self.slots = slots
        self.wait = wait
        self._free = threading.Semaphore(slots)
        self._threads = threading.local()
        self._unanswered_since = unanswered_since

    def enter(self) -> _Holder:
        """Take a slot for this thread, unless it holds one already; or BulkheadFullError."""
        holder: _Holder | None = getattr(self._threads, "holder", None)
        if holder is None:
            holder = self._threads.holder = _Holder()
        if holder.connections == 0:
            # Wait as long as the database keeps answering: a slow one frees slots in the end.
            while not self._free.acquire(timeout=self._patience()):
                if self._patience() == 0.0:
                    raise BulkheadFullError(
                        f"all {self.slots} database slots of this worker are taken, and the "
                        f"a question to the database has gone unanswered for {self.wait:g} s"
                    )
        holder.connections += 1
        return holder

    def leave(self, holder: _Holder) -> None:
        """Give the slot back once `holder`'s thread holds no connection any more."""
        holder.connections -= 1
        if holder.connections == 0:
            self._free.release()

    def _patience(self) -> float:
        """0 when the database hangs: a question to it has waited `wait` for an answer, and it
        answered nothing else meanwhile. Otherwise how long to wait before looking again.

        Slots held that long say nothing by themselves: their threads may wait on something
        else (a paused Redis) while the database answers at once."""
        now = time.monotonic()
        asked = self._unanswered_since()
        pending = 0.0 if asked is None else now - asked
        if pending >= self.wait:
            return 0.0
        return max(self.wait - pending, LOOK_AGAIN_SECONDS)


class BulkheadPool(QueuePool):
    """SQLAlchemy's QueuePool, whose checkouts take a slot of the class's `bulkhead`.

    `_do_get` and `_do_return_conn` are where a Pool subclass gets and returns connection
    records; SQLAlchemy calls them in pairs, whatever happens to the connection in between.
    A subclass per bulkhead (`for_bulkhead`), because SQLAlchemy re-creates a pool from its
    class alone when the engine is disposed.
    """

    bulkhead: Bulkhead

    @classmethod
    def for_bulkhead(cls, bulkhead: Bulkhead) -> type[BulkheadPool]:
        """A pool class whose pools share `bulkhead`."""
        return type("BulkheadPool", (cls,), {"bulkhead": bulkhead})

    def _do_get(self) -> ConnectionPoolEntry:
        holder = self.bulkhead.enter()
        try:
            record = super()._do_get()
        except BaseException:
            self.bulkhead.leave(holder)
            raise
        # record_info outlives the connection, which an invalidation closes before its return.
        record.record_info[HOLDER] = holder  # type: ignore[index]
        return record

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        try:
            super()._do_return_conn(record)
        finally:
            holder: Any = record.record_info.pop(HOLDER, None)  # type: ignore[union-attr]
            if holder is not None:
                self.bulkhead.leave(holder)
