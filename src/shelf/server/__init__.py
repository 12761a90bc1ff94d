"""The production server: granian (or gunicorn), configured from Settings, draining on SIGTERM.

granian is the default because it measured about twice gunicorn's requests/s on this service
(bench/README.md); `SERVER=gunicorn` runs gunicorn's sync (or, with WEB_THREADS > 1, gthread)
workers instead. Either way, on SIGTERM the master marks the service as draining (readiness
answers 503, so load balancers stop sending traffic), keeps serving for
`SHUTDOWN_DRAIN_SECONDS`, then stops gracefully: workers finish their in-flight requests within
`GRACEFUL_TIMEOUT` and the process exits 0.
"""

from __future__ import annotations

from typing import Any

from shelf.app import create_app
from shelf.config import Settings
from shelf.server.granian import DrainingGranian, granian_options
from shelf.server.gunicorn import ShelfServer, gunicorn_options
from shelf.server.watchdog import StuckRequestWatchdog

__all__ = ["StuckRequestWatchdog", "granian_options", "gunicorn_options", "load_app", "serve"]


_settings: Settings | None = None  # set by serve(); forked workers build their app from it


def load_app() -> Any:
    """The WSGI app, built in each granian worker from the settings `serve` was given."""
    if _settings is None:
        raise RuntimeError("serve() sets the settings before granian starts its workers")
    return StuckRequestWatchdog(create_app(_settings), _settings.worker_timeout)


def serve(settings: Settings) -> None:
    """Run the production server until it is stopped."""
    if settings.server == "gunicorn":
        ShelfServer(settings).run()
        return
    global _settings  # handed to the forked workers
    _settings = settings
    DrainingGranian.drain_seconds = settings.shutdown_drain_seconds
    DrainingGranian(**granian_options(settings)).serve()
