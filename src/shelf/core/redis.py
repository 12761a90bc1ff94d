"""The shared Redis client: one blocking connection pool per process, every call time-bounded.

Its users share one `RedisBackoff`, so that after a failure none of them waits on Redis again
for a few seconds.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from redis import BlockingConnectionPool, Redis, RedisError
from redis.commands.core import Script
from redis.exceptions import NoScriptError, ResponseError

from shelf.config import Settings

__all__ = ["PinnedClient", "RedisBackoff", "make_redis"]

log = logging.getLogger(__name__)


def make_redis(settings: Settings) -> Redis | None:
    """A client for `REDIS_URL`, or None when Redis is not configured.

    The pool blocks (briefly) instead of raising when every connection is busy; sized to the
    server's threads it never needs to.
    """
    if not settings.redis_url:
        return None
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_conn,
        timeout=settings.redis_socket_timeout,
        socket_timeout=settings.redis_socket_timeout,
        socket_connect_timeout=settings.redis_socket_timeout,
        health_check_interval=30,
    )
    return Redis(connection_pool=pool)


class PinnedClient(threading.local):
    """A client of `redis`'s pool that keeps one connection for each thread that uses it.

    Made for the hot path, one script call per request. Taking a connection out of the pool
    and back costs ~25 us per command, and redis-py's command layers (retries, callbacks,
    its own instrumentation) ~25 us more, twice the socket round trip itself; `evalsha` skips
    both. A forked child opens its own connection, never using its parent's.
    """

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._client: Redis | None = None
        self._pid = 0

    def get(self) -> Redis:
        """This thread's client, connected on first use."""
        if self._client is None or self._pid != os.getpid():
            pool = self._redis.connection_pool
            self._client = Redis(connection_pool=pool, single_connection_client=True)
            self._pid = os.getpid()
        return self._client

    def evalsha(self, script: Script, keys: list[str], args: list[str | int]) -> Any:
        """Run `script` on this thread's connection, loading it first if Redis lost it."""
        try:
            return self._call("EVALSHA", script.sha, len(keys), *keys, *args)
        except NoScriptError:  # Redis restarted or its scripts were flushed
            self._call("SCRIPT", "LOAD", script.script)
            return self._call("EVALSHA", script.sha, len(keys), *keys, *args)

    def _call(self, *command: Any) -> Any:
        connection = self.get().connection
        if connection is None:  # a single-connection client always holds one
            raise RedisError("no pinned connection")
        try:
            connection.send_command(*command)  # type: ignore[no-untyped-call]
            return connection.read_response()
        except ResponseError:
            raise  # an error reply: read in full, the connection is still in step
        except BaseException:
            # A reply may be left unread: never reuse the socket.
            connection.disconnect()  # type: ignore[no-untyped-call]
            raise


class RedisBackoff:
    """After a Redis failure, skip Redis for a few seconds.

    One is shared by every user of an app's client (rate limiter, cache, invalidation), so a
    dead or hanging server costs a process one socket timeout every few seconds, and a request
    at most one; callers fall back (no cache, in-process counting) meanwhile. `clock` may be
    swapped (tests: `app.extensions["shelf.redis_backoff"].clock = fake_clock`).
    """

    def __init__(
        self, seconds: float = 5.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.clock = clock
        self._down_until = 0.0

    def available(self) -> bool:
        """False while backing off after a failure."""
        return self.clock() >= self._down_until

    def failed(self, error: RedisError, what: str) -> None:
        """Log the failure and start backing off."""
        log.warning("redis unavailable; %s", what, exc_info=error)
        self._down_until = self.clock() + self.seconds
