"""Where cached responses live: one Redis hash per resource type, or process memory.

Each cached resource type is one Redis hash (field = caller visibility + path + normalised
query), so a write invalidates every cached read of that type, on every worker, with one DEL. A
generation number per type keeps a slow reader from storing what a write has just made stale.

An invalidation that does not reach Redis (it fails, or Redis is backing off after a failure) is
owed: the process retries it before it uses the Redis cache again, and does not serve that
resource from Redis until it succeeds. Other processes may serve the stale entries until then,
never longer than CACHE_TTL: every entry carries the time it was stored, and an entry older
than the TTL is a miss.

Each resource's entries take at most CACHE_MAX_BYTES. Redis 7.0 cannot expire single fields of
a hash, so the store script, which runs on every miss anyway, keeps an index of the fields by
the time they were stored: it removes the expired entries, then the oldest ones while the
resource is over its budget, and sets a TTL on the whole hash. A hit does no more than before.
The budget is counted in bytes rather than entries because entries differ a thousandfold (a
book, a page of a hundred 100 KB templates); the count lives in the hash itself, so it lives,
expires and is deleted with the entries it counts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cachetools import TTLCache
from redis import Redis, RedisError

from shelf.core.cache_entries import Headers, pack_entry, unpack_entry
from shelf.core.redis import RedisBackoff

__all__ = ["CacheProbe", "Prefetch", "ResponseCache"]


@dataclass(frozen=True, slots=True)
class CacheProbe:
    """Where one cached read lives in Redis, for a lookup made by another Redis call."""

    resource: str
    field: str
    generation_key: str
    entries_key: str


@dataclass(frozen=True, slots=True)
class Prefetch:
    """A cache lookup already made for this request, in the rate limiter's Redis call."""

    resource: str
    field: str
    entry: bytes | None
    generation: str


# What an entry costs against the budget, so that the budget bounds what Redis really spends:
# its value, rounded up as the allocator may (by a quarter at most), its field name twice (hash
# and index) and ENTRY_OVERHEAD bytes of bookkeeping (measured with MEMORY USAGE: 140-180 B).
ENTRY_OVERHEAD = 192
TOTAL = "#bytes"  # the hash field counting the bytes of the others; no cache field starts so

# Store an entry only if no write invalidated the resource since the read began; otherwise a
# slow reader could put back data that a concurrent write had just made stale. Then remove the
# expired entries (a hundred at most a call) and the oldest ones while over the budget.
STORE_IF_CURRENT = """
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return end
local entries, index, field, entry = KEYS[2], KEYS[3], ARGV[2], ARGV[3]
local now, ttl, budget = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local overhead, total_field = tonumber(ARGV[7]), ARGV[8]
local function cost(length, name)
  return length + math.floor(length / 4) + 2 * #name + overhead
end
local function drop(name)
  local length = redis.call('HSTRLEN', entries, name)
  if length > 0 then
    redis.call('HINCRBY', entries, total_field, -cost(length, name))
    redis.call('HDEL', entries, name)
  end
  redis.call('ZREM', index, name)
end
drop(field)
local expired = redis.call('ZRANGEBYSCORE', index, '-inf', '(' .. (now - ttl), 'LIMIT', 0, 100)
for _, name in ipairs(expired) do drop(name) end
local total = redis.call('HINCRBY', entries, total_field, cost(#entry, field))
redis.call('HSET', entries, field, entry)
redis.call('ZADD', index, now, field)
while total > budget do
  local oldest = redis.call('ZRANGE', index, 0, 0)[1]
  if oldest == nil then  -- the count went astray (keys evicted apart): start afresh
    redis.call('DEL', entries, index)
    break
  end
  drop(oldest)
  total = tonumber(redis.call('HGET', entries, total_field))
end
redis.call('EXPIRE', entries, ttl)
redis.call('EXPIRE', index, ttl)
"""


class ResponseCache:
    """Look up, store and invalidate cached responses by resource type.

    Each resource type has a generation number, bumped by every invalidation; a lookup returns
    the generation it saw, and a store is dropped if the generation has moved on since.
    `backoff` is shared with the app's other Redis users.
    """

    def __init__(
        self,
        redis: Redis | None,
        prefix: str,
        ttl: int,
        *,
        max_bytes: int,
        backoff: RedisBackoff,
        enabled: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl
        self.max_bytes = max_bytes
        self._clock = clock
        self.enabled = enabled
        self._memory: dict[str, TTLCache[str, bytes]] = {}
        self._generations: dict[str, int] = {}
        self._lock = threading.Lock()
        self._backoff = backoff
        self._store_if_current = redis.register_script(STORE_IF_CURRENT) if redis else None
        # Resource -> a token of the latest failure; a retry settles only the failures before it.
        self._owed: dict[str, object] = {}
        self._retrying = threading.Lock()

    def use_redis(self, resource: str) -> Redis | None:
        """The Redis client for `resource`; None without Redis, while backing off or owing."""
        if self.redis is None or not self._backoff.available():
            return None
        if self._owed and not self._settle_owed(self.redis, resource):  # hot path: `_owed` only
            return None
        return self.redis

    def _settle_owed(self, redis: Redis, resource: str) -> bool:
        """Retry the owed invalidations; whether `resource` may now be served from Redis."""
        # One thread retries; meanwhile the others keep what is still owed out of the cache.
        if self._retrying.acquire(blocking=False):
            try:
                with self._lock:
                    owed = list(self._owed)
                if not all(self._invalidate_in_redis(redis, name) for name in owed):
                    return False
            finally:
                self._retrying.release()
        return resource not in self._owed

    def pack(self, headers: Iterable[tuple[str, str]], body: bytes) -> bytes:
        """An entry: the time it is stored, the headers to answer with and the body."""
        return pack_entry(self._clock(), headers, body)

    def unpack(self, entry: bytes | None) -> tuple[Headers, bytes] | None:
        """(headers, body) of an entry stored less than the TTL ago; None otherwise."""
        unpacked = unpack_entry(entry) if entry is not None else None
        if unpacked is None or self._clock() - unpacked[0] > self.ttl:
            return None
        return unpacked[1], unpacked[2]

    def _redis_failed(self, error: RedisError) -> None:
        self._backoff.failed(error, "response cache bypassed")

    def keys(self, resource: str) -> tuple[str, str]:
        """The Redis keys of `resource`: its generation counter and its entries."""
        return f"{self.prefix}cache:{resource}:gen", f"{self.prefix}cache:{resource}"

    def index_key(self, resource: str) -> str:
        """The Redis key of the index of `resource`'s entries by the time they were stored."""
        return f"{self.prefix}cache:{resource}:index"

    def probe(self, resource: str, field: str) -> CacheProbe | None:
        """Where `field` of `resource` lives, when it is served from Redis; else None.

        The rate limiter fetches it with its own script call, so a cached read costs one
        Redis round trip in all.
        """
        if not self.enabled or self.use_redis(resource) is None:
            return None
        generation_key, entries_key = self.keys(resource)
        return CacheProbe(resource, field, generation_key, entries_key)

    def entry(
        self, resource: str, field: str, prefetched: Prefetch | None
    ) -> tuple[bytes | None, str | None]:
        """The entry of `field` and the generation to store under: as the rate limiter
        already fetched them when it did, else looked up."""
        if prefetched is not None and (prefetched.resource, prefetched.field) == (resource, field):
            return prefetched.entry, prefetched.generation
        return self.lookup(resource, field)

    def lookup(self, resource: str, field: str) -> tuple[bytes | None, str | None]:
        """The cached entry (or None) and the generation to hand back to `store`.

        A generation of None means the cache cannot be used right now.
        """
        if self.redis is None:
            with self._lock:
                entries = self._memory.get(resource)
                entry = entries.get(field) if entries is not None else None
                return entry, str(self._generations.get(resource, 0))
        client = self.use_redis(resource)
        if client is None:
            return None, None
        generation_key, entries_key = self.keys(resource)
        try:
            pipe = client.pipeline(transaction=False)
            pipe.hget(entries_key, field)
            pipe.get(generation_key)
            entry, generation = pipe.execute()
        except RedisError as error:
            self._redis_failed(error)
            return None, None
        return entry, (generation or b"0").decode()

    def store(self, resource: str, field: str, value: bytes, generation: str | None) -> None:
        """Keep an entry until the next write to `resource` or the TTL, if still current;
        the oldest entries make way while `resource` is over its budget."""
        if generation is None or len(value) > self.max_bytes:
            return
        if self.redis is None:
            with self._lock:
                if str(self._generations.get(resource, 0)) == generation:
                    entries = self._memory.setdefault(
                        resource, TTLCache(self.max_bytes, self.ttl, getsizeof=len)
                    )
                    entries[field] = value
            return
        if self.use_redis(resource) is None or self._store_if_current is None:
            return
        keys = [*self.keys(resource), self.index_key(resource)]
        now = int(self._clock())
        args: list[str | bytes | int] = [generation, field, value, now, self.ttl]
        args += [self.max_bytes, ENTRY_OVERHEAD, TOTAL]
        try:
            self._store_if_current(keys=keys, args=args)
        except RedisError as error:
            self._redis_failed(error)

    def invalidate(self, resource: str) -> None:
        """Forget every cached read of `resource`, here and on every worker (later if owed)."""
        with self._lock:
            self._generations[resource] = self._generations.get(resource, 0) + 1
            self._memory.pop(resource, None)
        if self.redis is None:
            return
        # While backing off, Redis is not even tried: a write waits on it for no timeout.
        if not self._backoff.available() or not self._invalidate_in_redis(self.redis, resource):
            with self._lock:
                self._owed[resource] = object()

    def _invalidate_in_redis(self, redis: Redis, resource: str) -> bool:
        """Bump the generation of `resource` and drop its entries; False if Redis failed."""
        owed = self._owed.get(resource)
        generation_key, entries_key = self.keys(resource)
        try:
            pipe = redis.pipeline(transaction=True)
            pipe.incr(generation_key)
            pipe.delete(entries_key, self.index_key(resource))
            pipe.execute()
        except RedisError as error:
            self._backoff.failed(error, f"invalidation of cached {resource} owed")
            return False
        if owed is not None:
            with self._lock:
                # Unless it failed again meanwhile: that failure may postdate this invalidation.
                if self._owed.get(resource) is owed:
                    del self._owed[resource]
        return True
