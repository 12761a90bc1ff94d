"""What the operational endpoints report: the readiness checks, and whether the server drains."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, text

from shelf.core.db import retry_if_lost
from shelf.ops.schemas import Check

__all__ = ["database_probe", "draining", "timed"]

# Set by the production server's master on SIGTERM; shared with its forked workers.
draining = multiprocessing.Value("b", 0, lock=False)
_checks = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readiness")


def timed(probe: Callable[[], object], timeout: float) -> Check:
    """Run `probe` with a deadline: ok or failing, and how long it took."""
    started = time.perf_counter()
    try:
        _checks.submit(probe).result(timeout=timeout)
    except Exception:  # a timeout included
        return Check(status="failing", latency_ms=round((time.perf_counter() - started) * 1000, 2))
    return Check(status="ok", latency_ms=round((time.perf_counter() - started) * 1000, 2))


def database_probe(engine: Engine) -> Callable[[], object]:
    """A round trip to the database on `engine` (resolved in the app context, run outside)."""

    def ping() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    return lambda: retry_if_lost(ping)
