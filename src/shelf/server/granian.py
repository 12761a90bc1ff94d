"""granian, the default server: its WSGI workers, draining on SIGTERM."""

from __future__ import annotations

import signal
import threading
from typing import Any

from granian.constants import Interfaces
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.log import logger as granian_logger
from granian.server.mp import MPServer

from shelf.config import Settings
from shelf.ops import service as ops_service
from shelf.server.workers import mark_dead

__all__ = ["HEAD_BUFFER_BYTES", "DrainingGranian", "granian_options"]

# How much of a request's head granian buffers. Past it, or past 100 header lines (a bound of
# its HTTP parser that granian does not expose), granian answers 431 itself, before any Python
# runs: an empty body, without the service's headers. Up to it, the app answers, with its own
# 431 past MAX_HEADER_BYTES. granian's default, pinned here beside the bound it must exceed.
HEAD_BUFFER_BYTES = 8192 + 4096 * 100


def granian_options(settings: Settings) -> dict[str, Any]:
    """The granian settings for this deployment; the app is built in each worker."""
    return {
        "target": "shelf.server:load_app",
        "factory": True,
        "interface": Interfaces.WSGI,
        "address": settings.host,
        "port": settings.port,
        "workers": settings.web_concurrency,
        # All threads but one may wait on the database (the bulkhead, shelf.core.bulkhead), so
        # one is left for liveness and cache hits when the database hangs (README: "The `shelf`
        # command").
        "blocking_threads": settings.web_threads,
        "websockets": False,
        "respawn_failed_workers": True,  # as gunicorn does
        "workers_kill_timeout": settings.graceful_timeout,
        "log_level": LogLevels(settings.log_level.lower()),
        "log_access": False,  # the app logs one JSON line per request
        "http1_settings": HTTP1Settings(max_buffer_size=HEAD_BUFFER_BYTES),
    }


class DrainingGranian(MPServer):
    """granian's master, with a readiness-draining pause before its graceful stop.

    A stop signal sent to the whole process group (Ctrl-C in a terminal, systemd's default
    KillMode) reaches the workers too, and each stops gracefully on its own: the master then
    treats their exits as the stop it ordered, not as crashes to log and replace.
    """

    drain_seconds = 0.0

    def signal_handler_interrupt(self, *args: Any, **kwargs: Any) -> None:
        for worker in self.wrks:  # from now on a worker's exit is part of the stop
            worker.interrupt_by_parent = True
        if ops_service.draining.value:  # a second signal stops at once
            super().signal_handler_interrupt()  # type: ignore[no-untyped-call]
            return
        ops_service.draining.value = 1
        self.log_drain(signal.Signals(args[0]).name if args else "a stop signal")
        timer = threading.Timer(self.drain_seconds, super().signal_handler_interrupt)
        timer.daemon = True
        timer.start()

    def log_drain(self, received: str) -> None:
        granian_logger.info(
            f"{received}: draining for {self.drain_seconds:.1f} s before a graceful stop"
        )

    # Worker processes that are gone leave their metric files to the multiprocess collector.
    def _stop_workers(self) -> None:
        pids = [worker.inner.pid for worker in self.wrks]
        super()._stop_workers()  # type: ignore[no-untyped-call]
        mark_dead(pids)

    def _respawn_workers(self, workers: list[int], *args: Any, **kwargs: Any) -> None:
        pids = [self.wrks[idx].inner.pid for idx in workers]
        super()._respawn_workers(workers, *args, **kwargs)
        mark_dead(pids)
