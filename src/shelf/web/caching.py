"""Response cache for GET endpoints: Redis when configured, process memory otherwise.

`@cached("books", vary="public")` serves a view from the cache of its resource type
(`shelf.core.cache_store`). Who an entry varies by is declared, never guessed: `public` entries
are shared by every caller of the same visibility (anonymous, or holding credentials), and
`principal` entries belong to one caller, named by its subject in the entry's field; only
`public` reads are answered by the anonymous-hit shortcut. Writes are noticed at commit time
from the session itself, whichever code path made them, and clear the cached reads of every
table they touched, on every worker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from itertools import chain
from typing import Any, Literal
from urllib.parse import urlencode

from apiflask import APIFlask
from flask import Request, Response, current_app, has_app_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from shelf.config import Settings
from shelf.core.cache_store import CacheProbe, ResponseCache
from shelf.web import state
from shelf.web.state import RequestState

__all__ = [
    "CachePolicy",
    "Vary",
    "cache_field",
    "cache_policy",
    "cached",
    "hit_response",
    "init_app",
    "probe",
]

Vary = Literal["public", "principal"]
TOUCHED = "shelf.touched_tables"  # a session.info key: the tables a transaction wrote
CACHED_RESOURCES: set[str] = set()  # table names with cached reads, filled as views are declared


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """How a view is cached: the resource whose writes clear it, and who an entry varies by."""

    resource: str
    vary: Vary


def cache_policy(view: Callable[..., Any] | None) -> CachePolicy | None:
    """The policy `@cached` gave `view`, or None when it is not cached."""
    return getattr(view, "cache_policy", None)


def cache_field(request: Request, request_state: RequestState, vary: Vary) -> str:
    """What identifies a cached read: whose it is, the path and the sorted query."""
    principal = request_state.principal
    if vary == "principal" and principal is not None:
        owner = f"principal:{principal.subject}"
    else:
        owner = "auth" if principal is not None else "anon"
    field = request_state.cache_fields.get(owner)
    if field is None:
        query = request.environ.get("QUERY_STRING", "")
        if query:
            query = urlencode(sorted(request.args.items(multi=True)))
        field = request_state.cache_fields[owner] = f"{owner}|{request.path}?{query}"
    return field


def probe(
    cache: ResponseCache,
    view: Callable[..., Any] | None,
    request: Request,
    request_state: RequestState,
) -> CacheProbe | None:
    """Where `view`'s entry for this request lives in Redis, for the rate limiter to fetch."""
    policy = cache_policy(view)
    if policy is None or not cache.enabled:
        return None
    return cache.probe(policy.resource, cache_field(request, request_state, policy.vary))


def hit_response(response_class: type[Response], hit: tuple[str, bytes]) -> Response:
    """The answer from a cache entry: (ETag, body)."""
    return response_class(
        hit[1], headers=[("ETag", hit[0]), ("X-Cache", "HIT")], mimetype="application/json"
    )


def cached(resource: str, *, vary: Vary) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Serve a GET view from the cache of `resource`; `X-Cache` says HIT or MISS.

    `vary` says who an entry belongs to: `public` (every caller sees the same data) or
    `principal` (each caller sees its own: "my loans").
    """
    policy = CachePolicy(resource, vary)
    CACHED_RESOURCES.add(resource)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            cache: ResponseCache = current_app.extensions["shelf.cache"]
            if not cache.enabled:
                return current_app.make_response(view(*args, **kwargs))
            request_state = state.current()
            field = cache_field(request, request_state, vary)
            prefetched, request_state.cache_prefetch = request_state.cache_prefetch, None
            entry, generation = cache.entry(resource, field, prefetched)
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
            request_state.public_read = vary == "public" and request_state.principal is None
            return response

        wrapper.cache_policy = policy  # type: ignore[attr-defined]
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
