"""The production server: granian (or gunicorn), configured from Settings, draining on SIGTERM.

granian is the default because it measured about twice gunicorn's requests/s on this service
(bench/README.md); `SERVER=gunicorn` runs gunicorn's sync (or, with WEB_THREADS > 1, gthread)
workers instead. Either way, on SIGTERM the master marks the service as draining (readiness
answers 503, so load balancers stop sending traffic), keeps serving for
`SHUTDOWN_DRAIN_SECONDS`, then stops gracefully: workers finish their in-flight requests within
`GRACEFUL_TIMEOUT` and the process exits 0.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from granian.constants import Interfaces
from granian.log import LogLevels
from granian.server.mp import MPServer
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from shelf import ops
from shelf.config import Settings

__all__ = ["StuckRequestWatchdog", "granian_options", "gunicorn_options", "load_app", "serve"]

log = logging.getLogger(__name__)

# Worker heartbeat files live in memory, off a possibly read-only disk.
WORKER_TMP_DIR = "/dev/shm"  # noqa: S108  # nosec B108


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """The gunicorn settings for this deployment."""
    return {
        "bind": f"{settings.host}:{settings.port}",
        "workers": settings.web_concurrency,
        "threads": settings.web_threads,
        "worker_class": "gthread" if settings.web_threads > 1 else "sync",
        "timeout": settings.worker_timeout,
        "graceful_timeout": settings.graceful_timeout,
        "keepalive": 5,
        "accesslog": None,  # the app logs one JSON line per request
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "child_exit": _child_exit,
        "worker_tmp_dir": WORKER_TMP_DIR,
    }


def granian_options(settings: Settings) -> dict[str, Any]:
    """The granian settings for this deployment; the app is built in each worker."""
    return {
        "target": "shelf.server:load_app",
        "factory": True,
        "interface": Interfaces.WSGI,
        "address": settings.host,
        "port": settings.port,
        "workers": settings.web_concurrency,
        # One thread per worker measured best (p99 and requests/s) once a read is one round
        # trip; more threads let a worker overlap slow I/O, at the cost of GIL waits.
        "blocking_threads": settings.web_threads,
        "websockets": False,
        "respawn_failed_workers": True,  # as gunicorn does
        "workers_kill_timeout": settings.graceful_timeout,
        "log_level": LogLevels(settings.log_level.lower()),
        "log_access": False,  # the app logs one JSON line per request
    }


_settings: Settings | None = None  # set by serve(); forked workers build their app from it


def load_app() -> Any:
    """The WSGI app, built in each granian worker from the settings `serve` was given."""
    from shelf.app import create_app

    if _settings is None:
        raise RuntimeError("serve() sets the settings before granian starts its workers")
    return StuckRequestWatchdog(create_app(_settings), _settings.worker_timeout)


class StuckRequestWatchdog:
    """Ends a granian worker whose request has run past WORKER_TIMEOUT; granian starts another.

    gunicorn's master does this for its workers; granian has no such timeout, so each worker
    watches itself. Every dependency call has its own, shorter timeout: this catches what those
    cannot, such as a deadlock or a client that never finishes sending its body.
    """

    def __init__(self, app: Any, timeout: float) -> None:
        self.app = app
        self.timeout = timeout
        self._started: dict[int, float] = {}  # thread id -> when its request began
        threading.Thread(target=self._watch, name="stuck-request-watchdog", daemon=True).start()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        thread = threading.get_ident()
        self._started[thread] = time.monotonic()
        try:
            return self.app(environ, start_response)
        finally:
            del self._started[thread]

    def _watch(self) -> None:
        while True:
            time.sleep(min(1.0, self.timeout / 4))
            oldest = min(self._started.values(), default=time.monotonic())
            if time.monotonic() - oldest > self.timeout:
                log.error(
                    "a request ran past WORKER_TIMEOUT (%s s): restarting the worker", self.timeout
                )
                os._exit(1)


def _child_exit(server: Any, worker: Any) -> None:
    _mark_dead([worker.pid])


def _mark_dead(pids: list[int | None]) -> None:
    from prometheus_client import multiprocess

    for pid in pids:
        if pid is not None:
            multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


class DrainingArbiter(Arbiter):  # type: ignore[misc]
    """Gunicorn's master, with a readiness-draining pause before a graceful stop."""

    drain_seconds = 0.0

    def handle_term(self) -> None:
        ops.draining.value = 1
        self.log.info("SIGTERM: draining for %.1f s before a graceful stop", self.drain_seconds)
        time.sleep(self.drain_seconds)
        raise StopIteration


class ShelfServer(BaseApplication):  # type: ignore[misc]
    """Gunicorn's documented custom-application form: options in code, no config file."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        for key, value in gunicorn_options(self.settings).items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from shelf.app import create_app

        return create_app(self.settings)

    def run(self) -> None:
        DrainingArbiter.drain_seconds = self.settings.shutdown_drain_seconds
        DrainingArbiter(self).run()


class DrainingGranian(MPServer):
    """granian's master, with a readiness-draining pause before its graceful stop."""

    drain_seconds = 0.0

    def signal_handler_interrupt(self, *args: Any, **kwargs: Any) -> None:
        if ops.draining.value:  # a second signal stops at once
            super().signal_handler_interrupt()  # type: ignore[no-untyped-call]
            return
        ops.draining.value = 1
        self.log_drain()
        timer = threading.Timer(self.drain_seconds, super().signal_handler_interrupt)
        timer.daemon = True
        timer.start()

    def log_drain(self) -> None:
        from granian.log import logger

        logger.info(f"SIGTERM: draining for {self.drain_seconds:.1f} s before a graceful stop")

    # Worker processes that are gone leave their metric files to the multiprocess collector.
    def _stop_workers(self) -> None:
        pids = [worker.inner.pid for worker in self.wrks]
        super()._stop_workers()  # type: ignore[no-untyped-call]
        _mark_dead(pids)

    def _respawn_workers(self, workers: list[int], *args: Any, **kwargs: Any) -> None:
        pids = [self.wrks[idx].inner.pid for idx in workers]
        super()._respawn_workers(workers, *args, **kwargs)
        _mark_dead(pids)


def serve(settings: Settings) -> None:
    """Run the production server until it is stopped."""
    if settings.server == "gunicorn":
        ShelfServer(settings).run()
        return
    global _settings  # handed to the forked workers
    _settings = settings
    DrainingGranian.drain_seconds = settings.shutdown_drain_seconds
    DrainingGranian(**granian_options(settings)).serve()
