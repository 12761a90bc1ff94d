"""Response cache for GET endpoints: Redis when configured, process memory otherwise.

`@cached("books")` serves a view from the cache of its resource type (`cache_store`); writes are
noticed at commit time from the session itself, whichever code path made them, and clear the
cached reads of every table they touched, on every worker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from itertools import chain
from typing import Any
from urllib.parse import urlencode

from apiflask import APIFlask
from flask import Request, Response, current_app, g, has_app_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from shelf.cache_store import ResponseCache
from shelf.config import Settings
from shelf.security import current_principal

__all__ = [
    "Prefetch",
    "cache_field",
    "cached",
    "cached_entry",
    "hit_response",
    "init_app",
    "prefetch_keys",
    "public_cache_control",
]

TOUCHED = "shelf.touched_tables"
CACHE_FIELD_ENVIRON = "shelf.cache_field"  # where a request's cache field is kept, once computed
CACHED_RESOURCES: set[str] = set()  # table names with cached reads, filled as views are declared


@dataclass(frozen=True)
class Prefetch:
    """A cache lookup already made for this request, in the rate limiter's Redis call."""

    resource: str
    field: str
    entry: bytes | None
    generation: str


def prefetch_keys(
    cache: ResponseCache, view: Callable[..., Any] | None, request: Request, authenticated: bool
) -> tuple[str, str, str, str] | None:
    """(resource, generation key, entries key, field) when `view` serves from the Redis cache.

    The rate limiter fetches these with its own script call, so a cached read costs one Redis
    round trip in all.
    """
    resource: str | None = getattr(view, "cached_resource", None)
    if resource is None or not cache.enabled or cache.use_redis(resource) is None:
        return None
    generation_key, entries_key = cache.keys(resource)
    return resource, generation_key, entries_key, cache_field(request, authenticated)


def cache_field(request: Request, authenticated: bool) -> str:
    """What identifies a cached read: the caller's visibility, the path and the sorted query."""
    visibility = "auth" if authenticated else "anon"
    memo = f"{CACHE_FIELD_ENVIRON}.{visibility}"
    field: str | None = request.environ.get(memo)
    if field is None:
        query = request.environ.get("QUERY_STRING", "")
        if query:
            query = urlencode(sorted(request.args.items(multi=True)))
        field = request.environ[memo] = f"{visibility}|{request.path}?{query}"
    return field


def cached_entry(
    cache: ResponseCache, resource: str, field: str, prefetched: Prefetch | None
) -> tuple[bytes | None, str | None]:
    """The entry of `field` and the generation to store under: as the rate limiter already
    fetched them when it did, else looked up."""
    if prefetched is not None and (prefetched.resource, prefetched.field) == (resource, field):
        return prefetched.entry, prefetched.generation
    return cache.lookup(resource, field)


def hit_response(response_class: type[Response], hit: tuple[str, bytes]) -> Response:
    """The answer from a cache entry: (ETag, body)."""
    return response_class(
        hit[1], headers=[("ETag", hit[0]), ("X-Cache", "HIT")], mimetype="application/json"
    )


def public_cache_control(response: Response, settings: Settings) -> Response:
    """Let shared caches keep an anonymous read for CACHE_PUBLIC_MAX_AGE seconds."""
    response.headers["Cache-Control"] = f"public, max-age={settings.cache_public_max_age}"
    return response


def cached(resource: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Serve a GET view from the cache of `resource`; `X-Cache` says HIT or MISS."""

    CACHED_RESOURCES.add(resource)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            cache: ResponseCache = current_app.extensions["shelf.cache"]
            if not cache.enabled:
                return current_app.make_response(view(*args, **kwargs))
            principal = current_principal()
            field = cache_field(request, authenticated=principal is not None)
            entry, generation = cached_entry(cache, resource, field, g.pop("cache_prefetch", None))
            hit = cache.unpack(entry)
            if hit is not None:
                response = hit_response(current_app.response_class, hit)
            else:
                response = current_app.make_response(view(*args, **kwargs))
                if response.status_code == 200:
                    if "ETag" not in response.headers:
                        response.add_etag()
                    stored = cache.pack(response.headers["ETag"], response.get_data())
                    cache.store(resource, field, stored, generation)
                response.headers["X-Cache"] = "MISS"
            if principal is None:
                public_cache_control(response, current_app.extensions["shelf.settings"])
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
