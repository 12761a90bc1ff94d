"""Response cache for GET endpoints: Redis when configured, process memory otherwise.

Each cached resource type is one Redis hash (field = caller visibility + path + sorted query),
so a write invalidates every cached read of that type, on every worker, with one DEL. Writes are
noticed at commit time from the session itself, whichever code path made them.

An invalidation that does not reach Redis (it fails, or Redis is backing off after a failure) is
owed: the process retries it before it uses the Redis cache again, and does not serve that
resource from Redis until it succeeds. Other processes may serve the stale entries until then,
never longer than CACHE_TTL: a hash's expiry is set by its first store and no later store
extends it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from itertools import chain
from typing import Any
from urllib.parse import urlencode

from apiflask import APIFlask
from cachetools import TTLCache
from flask import Response, current_app, g, has_app_context, request
from redis import Redis, RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session

from shelf.config import Settings
from shelf.redis_client import RedisBackoff
from shelf.security import current_principal

__all__ = ["Prefetch", "ResponseCache", "cached", "init_app", "prefetch_keys"]

TOUCHED = "shelf.touched_tables"
CACHED_RESOURCES: set[str] = set()  # table names with cached reads, filled as views are declared


# Store an entry only if no write invalidated the resource since the read began; otherwise a
# slow reader could put back data that a concurrent write had just made stale. The expiry is set
# only on the hash's first store (NX, Redis 7.0): were every store to extend it, an entry a lost
# invalidation left behind could live as long as reads keep coming.
STORE_IF_CURRENT = """
if (redis.call('GET', KEYS[1]) or '0') == ARGV[1] then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[4], 'NX')
end
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
        backoff: RedisBackoff,
        enabled: bool = True,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl
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

    def _redis_failed(self, error: RedisError) -> None:
        self._backoff.failed(error, "response cache bypassed")

    def keys(self, resource: str) -> tuple[str, str]:
        """The Redis keys of `resource`: its generation counter and its entries."""
        return f"{self.prefix}cache:{resource}:gen", f"{self.prefix}cache:{resource}"

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
        """Keep an entry until the next write to `resource` or the TTL, if still current."""
        if generation is None:
            return
        if self.redis is None:
            with self._lock:
                if str(self._generations.get(resource, 0)) == generation:
                    entries = self._memory.setdefault(resource, TTLCache(10_000, self.ttl))
                    entries[field] = value
            return
        if self.use_redis(resource) is None or self._store_if_current is None:
            return
        try:
            self._store_if_current(
                keys=list(self.keys(resource)), args=[generation, field, value, self.ttl]
            )
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
            pipe.delete(entries_key)
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


@dataclass(frozen=True)
class Prefetch:
    """A cache lookup already made for this request, in the rate limiter's Redis call."""

    resource: str
    field: str
    entry: bytes | None
    generation: str


def prefetch_keys(view: Callable[..., Any] | None) -> tuple[str, str, str, str] | None:
    """(resource, generation key, entries key, field) when `view` serves from the Redis cache.

    The rate limiter fetches these with its own script call, so a cached read costs one Redis
    round trip in all.
    """
    resource: str | None = getattr(view, "cached_resource", None)
    cache: ResponseCache = current_app.extensions["shelf.cache"]
    if resource is None or not cache.enabled or cache.use_redis(resource) is None:
        return None
    generation_key, entries_key = cache.keys(resource)
    return resource, generation_key, entries_key, _cache_field()


def _cache_field() -> str:
    """What identifies a cached read: the caller's visibility, the path and the sorted query."""
    field: str | None = g.get("cache_field")
    if field is None:
        visibility = "auth" if current_principal() else "anon"
        query = request.environ.get("QUERY_STRING", "")
        if query:
            query = urlencode(sorted(request.args.items(multi=True)))
        field = g.cache_field = f"{visibility}|{request.path}?{query}"
    return field


def cached(resource: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Serve a GET view from the cache of `resource`; `X-Cache` says HIT or MISS."""

    CACHED_RESOURCES.add(resource)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            cache: ResponseCache = current_app.extensions["shelf.cache"]
            if not cache.enabled:
                return current_app.make_response(view(*args, **kwargs))
            field = _cache_field()
            generation: str | None
            prefetched: Prefetch | None = g.pop("cache_prefetch", None)
            if prefetched is not None and (prefetched.resource, prefetched.field) == (
                resource,
                field,
            ):
                entry, generation = prefetched.entry, prefetched.generation
            else:
                entry, generation = cache.lookup(resource, field)
            if entry is not None:
                etag, _, body = entry.partition(b"\n")
                response = current_app.response_class(
                    body,
                    headers=[("ETag", etag.decode()), ("X-Cache", "HIT")],
                    mimetype="application/json",
                )
            else:
                response = current_app.make_response(view(*args, **kwargs))
                if response.status_code == 200:
                    if "ETag" not in response.headers:
                        response.add_etag()
                    stored = response.headers["ETag"].encode() + b"\n" + response.get_data()
                    cache.store(resource, field, stored, generation)
                response.headers["X-Cache"] = "MISS"
            if current_principal() is None:
                settings: Settings = current_app.extensions["shelf.settings"]
                response.headers["Cache-Control"] = (
                    f"public, max-age={settings.cache_public_max_age}"
                )
            return response

        wrapper.cached_resource = resource  # type: ignore[attr-defined]
        return wrapper

    return decorator


@event.listens_for(Session, "after_flush")
def _remember_written_tables(session: Session, flush_context: Any) -> None:
    touched = session.info.setdefault(TOUCHED, set())
    for instance in chain(session.new, session.dirty, session.deleted):
        touched.add(instance.__table__.name)


@event.listens_for(Session, "after_commit")
def _invalidate_written_tables(session: Session) -> None:
    touched = session.info.pop(TOUCHED, set())
    cache: ResponseCache | None = (
        current_app.extensions.get("shelf.cache") if has_app_context() else None
    )
    if cache is not None:
        for table in touched & CACHED_RESOURCES:
            cache.invalidate(table)


@event.listens_for(Session, "after_rollback")
def _forget_written_tables(session: Session) -> None:
    session.info.pop(TOUCHED, None)


def init_app(app: APIFlask, settings: Settings) -> None:
    """Create this app's cache on the shared Redis client (or memory).

    A memory cache cannot be invalidated in other processes, so without Redis the cache is used
    only when the server runs a single worker process.
    """
    redis = app.extensions["shelf.redis"]
    coherent = redis is not None or settings.web_concurrency == 1
    app.extensions["shelf.cache"] = ResponseCache(
        redis,
        prefix=settings.redis_key_prefix,
        ttl=settings.cache_ttl,
        backoff=app.extensions["shelf.redis_backoff"],
        enabled=settings.cache_enabled and coherent,
    )
