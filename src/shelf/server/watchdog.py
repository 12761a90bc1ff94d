"""A watchdog for granian workers, which have no request timeout of their own."""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

__all__ = ["StuckRequestWatchdog"]

log = logging.getLogger(__name__)


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
