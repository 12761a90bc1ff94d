"""What readiness reports: the dependency checks, whether the instance drains or is saturated.

Readiness fails only on what is local to this instance, because a load balancer that takes
every instance out of rotation during a shared outage turns a degraded service (cached reads,
fast 503s) into a total one. A dependency named in READINESS_REQUIRES fails it too.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool, QueuePool

from shelf.config import Settings
from shelf.core.db import engine_options
from shelf.core.errors import Detail
from shelf.ops.schemas import Check

__all__ = [
    "database_probe",
    "draining",
    "not_ready",
    "probe_engine",
    "run_checks",
    "saturated_pools",
]

log = logging.getLogger(__name__)

# Set by the production server's master on SIGTERM; shared with its forked workers.
draining = multiprocessing.Value("b", 0, lock=False)
_checks = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readiness")


def run_checks(probes: Mapping[str, Callable[[], object]], timeout: float) -> dict[str, Check]:
    """Run every probe at once under one deadline: each ok or failing, and how long it took.

    At once, so that the answer comes within `timeout` however many dependencies hang (the
    orchestrator's probe gives up after its own timeout, which would fail readiness).
    """
    started = time.perf_counter()
    running = {name: _checks.submit(_timed, name, probe) for name, probe in probes.items()}
    wait(running.values(), timeout=timeout)
    return {name: _outcome(future, started, timeout) for name, future in running.items()}


def _timed(name: str, probe: Callable[[], object]) -> Check:
    started = time.perf_counter()
    try:
        probe()
    except Exception as error:
        # The dependency's own words can name hosts and databases: the log has them, the
        # public answer only their kind.
        log.warning("readiness: %s answered with an error: %s", name, " ".join(str(error).split()))
        kind = type(error).__name__
        return Check(
            status="failing",
            latency_ms=_ms_since(started),
            error=f"answered with an error: {kind} (see the log)",
        )
    return Check(status="ok", latency_ms=_ms_since(started))


def _outcome(future: Future[Check], started: float, timeout: float) -> Check:
    if future.done():
        return future.result()
    return Check(  # past the deadline
        status="failing", latency_ms=_ms_since(started), error=f"no answer within {timeout:g} s"
    )


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def probe_engine(settings: Settings) -> Engine:
    """An engine without a pool, for the database check.

    Each check opens a connection of its own, with the app's timeouts: it says whether the
    database answers, and is never queued behind requests that hold every pooled connection.
    """
    options = engine_options(settings)
    return create_engine(options["url"], poolclass=NullPool, connect_args=options["connect_args"])


def database_probe(engine: Engine) -> Callable[[], object]:
    """A round trip to the database on `engine` (resolved in the app context, run outside)."""

    def ping() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    return ping


def saturated_pools(engines: Mapping[str, Engine]) -> list[str]:
    """The names of the engines whose every pooled connection, overflow included, is checked
    out: a request that needs one now waits for another to finish (up to DB_POOL_TIMEOUT)."""
    full = []
    for name, engine in engines.items():
        pool = engine.pool
        if isinstance(pool, QueuePool) and pool.checkedout() >= pool.size() + pool._max_overflow:
            full.append(name)
    return full


def not_ready(
    checks: Mapping[str, Check], *, required: Sequence[str], pools: Mapping[str, Engine]
) -> list[Detail]:
    """Why this instance should leave the rotation: a required dependency that fails, or a
    saturated pool while the database answers (then the load is this instance's own; while
    the database does not answer, every instance's pool fills alike)."""
    problems: list[Detail] = [
        {"field": name, "issue": "required, and not answering", "hint": f"Check that {name} is up."}
        for name in required
        if name in checks and checks[name].status == "failing"
    ]
    if checks["database"].status == "ok":
        problems += [
            {"field": f"pool.{name}", "issue": "every connection is in use",
             "hint": "Send traffic to other instances, or add instances."}
            for name in saturated_pools(pools)
        ]  # fmt: skip
    return problems
