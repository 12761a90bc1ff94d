"""Rate limits per principal (or per client IP when anonymous), in fixed windows.

Counters live in Redis when configured, so every worker shares them; without Redis, or for a few
seconds after a Redis failure (the backoff shared with the cache), each process counts in memory,
in a bounded table that forgets windows once they end. `ENDPOINT_RATE_LIMITS` adds stricter
limits to single endpoints. The Flask side (who is counted, the 429, the headers) is
`shelf.web.limits`.

Written here rather than with Flask-Limiter on purpose: Flask-Limiter measured about 570 us of
CPU per request on this service (three to four Redis calls, one to count and more to read the
window back for the headers), half of a cached read. Counting every applicable limit and reading
its window back is one Redis script call here. Limit strings are parsed by `limits`, the library
Flask-Limiter itself is built on.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cachetools import TTLCache
from limits import RateLimitItem
from limits import parse as parse_limit
from redis import Redis, RedisError

from shelf.config import Settings
from shelf.core.cache_store import CacheProbe, Prefetch
from shelf.core.redis import PinnedClient, RedisBackoff

__all__ = [
    "RateLimiter",
    "WindowState",
    "anonymous_identity",
    "exceeded",
    "make_limiter",
    "tightest",
]

# Windows counted in process at most (one per limit and caller), some 40 MB: past it the least
# recently counted are dropped, and those callers start a new window.
MEMORY_WINDOWS = 100_000
# For each limit key: count the hit, start the window's clock on the first one, read what is left
# of it. Then, for a cached read, fetch the cache entry and its generation in the same call.
COUNT_HITS = """
local limits = tonumber(ARGV[1])
local results = {}
for i = 1, limits do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[i + 1]) end
  results[2 * i - 1] = count
  results[2 * i] = redis.call('PTTL', KEYS[i])
end
if #KEYS > limits then
  results[2 * limits + 1] = redis.call('HGET', KEYS[limits + 2], ARGV[limits + 2]) or ''
  results[2 * limits + 2] = redis.call('GET', KEYS[limits + 1]) or '0'
end
return results
"""


@dataclass(frozen=True, slots=True)
class WindowState:
    """Where a caller stands in one limit's current window."""

    limit: RateLimitItem
    count: int
    reset_ms: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit.amount - self.count)

    @property
    def reset_seconds(self) -> int:
        return max(1, math.ceil(self.reset_ms / 1000))


class RateLimiter:
    """Counts requests per caller in fixed windows and refuses those over a limit.

    `backoff` is shared with the app's other Redis users; `clock` times the in-process windows.
    """

    def __init__(
        self,
        redis: Redis | None,
        prefix: str,
        default: RateLimitItem,
        per_endpoint: dict[str, RateLimitItem],
        *,
        backoff: RedisBackoff,
        clock: Callable[[], float] = time.monotonic,
        memory_windows: int = MEMORY_WINDOWS,
    ) -> None:
        self.redis = redis
        self.prefix = f"{prefix}limits:"
        self.default = default
        self.per_endpoint = per_endpoint
        self._count_hits = redis.register_script(COUNT_HITS) if redis is not None else None
        self._pinned = PinnedClient(redis) if redis is not None else None
        # Each count re-arms its entry for the longest window, which outlasts the entry's own
        # window (begun at its first count): only ended windows expire.
        longest = max(limit.get_expiry() for limit in (default, *per_endpoint.values()))
        self._memory: TTLCache[str, tuple[int, float]] = TTLCache(
            memory_windows, longest, timer=clock
        )
        self._clock = clock
        self._lock = threading.Lock()
        self._backoff = backoff

    def hit(
        self,
        identity: str,
        endpoint: str | None,
        probe: CacheProbe | None = None,
    ) -> tuple[list[WindowState], Prefetch | None]:
        """Count one request of `identity` against every limit that applies to `endpoint`.

        With `probe` (from `ResponseCache.probe`), the cache entry comes back too.
        """
        limits = [("all", self.default)]
        if endpoint in self.per_endpoint:
            limits.append((endpoint, self.per_endpoint[endpoint]))
        keys = [f"{self.prefix}{name}:{identity}" for name, _ in limits]
        args: list[str | int] = [len(keys), *(limit.get_expiry() * 1000 for _, limit in limits)]
        if probe is not None:
            keys += [probe.generation_key, probe.entries_key]
            args.append(probe.field)
        counts = self._count_in_redis(keys, args)
        fetched = None
        if counts is None:
            counts = self._count_in_memory(keys[: len(limits)], args[1 : len(limits) + 1])
        elif probe is not None:
            entry, generation = counts[2 * len(limits)], counts[2 * len(limits) + 1]
            fetched = Prefetch(probe.resource, probe.field, entry or None, generation.decode())
        windows = [
            WindowState(limit, counts[2 * i], counts[2 * i + 1])
            for i, (_, limit) in enumerate(limits)
        ]
        return windows, fetched

    def peek(self, identity: str) -> WindowState:
        """Where `identity` stands in the default limit's window, without counting anything
        (sign-in limits: a caller already over the limit is refused before its attempt)."""
        key = f"{self.prefix}all:{identity}"
        state = self._peek_in_redis(key)
        if state is None:
            now = self._clock()
            with self._lock:
                count, ends_at = self._memory.get(key, (0, 0.0))
            state = (count, int((ends_at - now) * 1000)) if ends_at > now else (0, 0)
        return WindowState(self.default, *state)

    def _peek_in_redis(self, key: str) -> tuple[int, int] | None:
        if self.redis is None or not self._backoff.available():
            return None
        try:
            pipeline = self.redis.pipeline()
            pipeline.get(key)
            pipeline.pttl(key)
            count, ttl = pipeline.execute()
        except RedisError as error:
            self._backoff.failed(error, "rate limits counted in process")
            return None
        return (int(count), max(0, int(ttl))) if count is not None else (0, 0)

    def _count_in_redis(self, keys: list[str], args: list[str | int]) -> list[Any] | None:
        if self._count_hits is None or self._pinned is None or not self._backoff.available():
            return None
        try:
            counts: list[Any] = self._pinned.evalsha(self._count_hits, keys, args)
        except RedisError as error:
            self._backoff.failed(error, "rate limits counted in process")
            return None
        return counts

    def _count_in_memory(self, keys: list[str], windows_ms: list[Any]) -> list[int]:
        now = self._clock()
        counts: list[int] = []
        with self._lock:
            for key, window_ms in zip(keys, windows_ms, strict=True):
                count, ends_at = self._memory.get(key, (0, 0.0))
                if ends_at <= now:
                    count, ends_at = 0, now + window_ms / 1000
                self._memory[key] = (count + 1, ends_at)
                counts += [count + 1, int((ends_at - now) * 1000)]
        return counts


def anonymous_identity(remote_addr: str | None) -> str:
    """Whom an anonymous request is counted against: its client address."""
    return f"ip:{remote_addr}"


def tightest(windows: list[WindowState]) -> WindowState:
    """The window with the fewest requests left: the one the response headers describe."""
    return min(windows, key=lambda window: window.remaining)


def exceeded(windows: list[WindowState]) -> list[WindowState]:
    """The windows this request went over."""
    return [window for window in windows if window.count > window.limit.amount]


def make_limiter(settings: Settings, redis: Redis | None, backoff: RedisBackoff) -> RateLimiter:
    """The limiter `settings` describe: DEFAULT_RATE_LIMIT a minute, ENDPOINT_RATE_LIMITS."""
    return RateLimiter(
        redis,
        prefix=settings.redis_key_prefix,
        default=parse_limit(f"{settings.default_rate_limit}/minute"),
        per_endpoint={
            name: parse_limit(text) for name, text in settings.endpoint_rate_limits.items()
        },
        backoff=backoff,
    )
