"""gunicorn, selectable with SERVER=gunicorn: its sync or gthread workers, draining on SIGTERM."""

from __future__ import annotations

import time
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from shelf.app import create_app
from shelf.config import Settings
from shelf.ops import service as ops_service
from shelf.server.watchdog import StuckRequestWatchdog
from shelf.server.workers import mark_dead
from shelf.web.envelope import MAX_HEADER_BYTES

__all__ = ["ShelfServer", "gunicorn_options"]

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
        # A header name with "_" would land in the environ under the same key as its "-"
        # spelling (X_API_KEY as X-API-KEY): drop it, as nginx does. gunicorn's default since
        # 22, pinned.
        "header_map": "drop",
        # A header line past MAX_HEADER_BYTES reaches the app, which answers 431 with the
        # service's headers; gunicorn's own page (8 KiB by default) is for far longer ones.
        "limit_request_field_size": 4 * MAX_HEADER_BYTES,
    }


def _child_exit(server: Any, worker: Any) -> None:
    mark_dead([worker.pid])


class DrainingArbiter(Arbiter):  # type: ignore[misc]
    """Gunicorn's master, with a readiness-draining pause before a graceful stop."""

    drain_seconds = 0.0

    def handle_term(self) -> None:
        ops_service.draining.value = 1
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
        app = create_app(self.settings)
        if self.settings.web_threads > 1:
            # A gthread worker beats its heartbeat from its main loop, not from the request's
            # thread: the master does not notice a stuck request, so the worker watches itself.
            return StuckRequestWatchdog(app, self.settings.worker_timeout)
        return app

    def run(self) -> None:
        DrainingArbiter.drain_seconds = self.settings.shutdown_drain_seconds
        DrainingArbiter(self).run()
