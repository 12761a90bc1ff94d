"""Response cache for GET endpoints: Redis when configured, process memory otherwise.

`@cached("books", vary="public")` serves a view from the cache of its resource type
(`shelf.core.cache_store`). Who an entry varies by is declared, never guessed: `public` entries
are shared by every caller of the same visibility (anonymous, or holding credentials), and
`principal` entries belong to one caller, named by its subject in the entry's field; only
`public` reads are answered by the anonymous-hit shortcut. Writes are noticed at commit time
from the session itself, whichever code path made them (flushed objects or UPDATE and DELETE
statements), and clear the cached reads of every table they touched, on every worker.

An entry's field holds everything its answer depends on, and nothing else: the caller's
visibility, the path and the view's query parameters as validated by the query model the view
declares (`@bp.input(..., location="query")`), parsed as APIFlask parses them for the view.
Unknown parameters, defaults and their order never make a new entry, and nothing else of the
request (a forwarded prefix or host) reaches a cached body: page links are relative. An entry
keeps the headers the view answered with (ETag, Link, ...), so a hit answers as the miss did.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from itertools import chain
from typing import Any, Literal

from apiflask import APIFlask
from flask import Request, Response, current_app, has_app_context, request
from pydantic import BaseModel, ValidationError
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from shelf.config import Settings
from shelf.core.cache_entries import Headers
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
# Normalised query strings remembered per cached view, and the longest raw one remembered.
REMEMBERED_QUERIES, REMEMBERED_LENGTH = 1024, 512
# Headers of the view's answer that are not kept: the length is the body's, a cookie is a caller's.
NOT_KEPT = frozenset({"Content-Length", "Set-Cookie"})


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """How a view is cached: the resource whose writes clear it, who an entry varies by, and
    the model of its query parameters (None: it takes none, and any sent are ignored)."""

    resource: str
    vary: Vary
    query: type[BaseModel] | None = None
    # Raw query string -> its normalised form: validating it again on every hit costs ~10 us.
    normalised: dict[str, str] = dataclasses.field(default_factory=dict, compare=False, repr=False)


def cache_policy(view: Callable[..., Any] | None) -> CachePolicy | None:
    """The policy `@cached` gave `view`, or None when it is not cached."""
    return getattr(view, "cache_policy", None)


def query_model(view: Callable[..., Any]) -> type[BaseModel] | None:
    """The model APIFlask validates `view`'s query parameters with, if it declared one."""
    for schema, location in getattr(view, "_spec", {}).get("args", []):
        if location in ("query", "querystring"):
            model: type[BaseModel] = schema
            return model
    return None


def cache_field(request: Request, request_state: RequestState, policy: CachePolicy) -> str | None:
    """What identifies a cached read: whose it is, the path and the normalised known query;
    None when the query is invalid (the view answers 422, which is not cached)."""
    principal = request_state.principal
    if policy.vary == "principal" and principal is not None:
        owner = f"principal:{principal.subject}"
    else:
        owner = "auth" if principal is not None else "anon"
    fields = request_state.cache_fields
    if owner not in fields:
        query: str | None = ""
        raw = request.environ.get("QUERY_STRING")
        if policy.query is not None and raw:
            query = policy.normalised.get(raw) or _normalised_query(policy, raw, request)
        fields[owner] = f"{owner}|{request.path}?{query}" if query is not None else None
    return fields[owner]


def _normalised_query(policy: CachePolicy, raw: str, request: Request) -> str | None:
    """The request's query validated by the view's model, as its non-default values in JSON
    (remembered for `raw` when short); None when it is invalid."""
    if policy.query is None:
        return ""
    try:  # as APIFlask's query input reads it, for the view to get the same model
        parameters = policy.query.model_validate(request.args.to_dict())
    except ValidationError:
        return None
    query = parameters.model_dump_json(exclude_defaults=True)
    if len(raw) <= REMEMBERED_LENGTH:
        if len(policy.normalised) >= REMEMBERED_QUERIES:  # a flood of new ones: start afresh
            policy.normalised.clear()
        policy.normalised[raw] = query
    return query


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
    field = cache_field(request, request_state, policy)
    return cache.probe(policy.resource, field) if field is not None else None


def hit_response(response_class: type[Response], hit: tuple[Headers, bytes]) -> Response:
    """The answer from a cache entry: the view's headers and body."""
    headers, body = hit
    return response_class(body, headers=[*headers, ("X-Cache", "HIT")])


def kept_headers(response: Response) -> Headers:
    """The headers of the view's answer that a cache hit answers with too."""
    return [(name, value) for name, value in response.headers.items() if name not in NOT_KEPT]


def cached(resource: str, *, vary: Vary) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Serve a GET view from the cache of `resource`; `X-Cache` says HIT or MISS.

    `vary` says who an entry belongs to: `public` (every caller sees the same data) or
    `principal` (each caller sees its own: "my loans"). Put it above the view's
    `@bp.input(..., location="query")`: entries are keyed on the query model declared there.
    """
    CACHED_RESOURCES.add(resource)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        policy = CachePolicy(resource, vary, query_model(view))

        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            cache: ResponseCache = current_app.extensions["shelf.cache"]
            if not cache.enabled:
                return current_app.make_response(view(*args, **kwargs))
            request_state = state.current()
            field = cache_field(request, request_state, policy)
            prefetched, request_state.cache_prefetch = request_state.cache_prefetch, None
            entry, generation = (
                cache.entry(resource, field, prefetched) if field is not None else (None, None)
            )
            hit = cache.unpack(entry)
            if hit is not None:
                response = hit_response(current_app.response_class, hit)
            else:
                response = current_app.make_response(view(*args, **kwargs))
                if response.status_code == 200 and field is not None:
                    if "ETag" not in response.headers:
                        response.add_etag()
                    stored = cache.pack(kept_headers(response), response.get_data())
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


@event.listens_for(Session, "do_orm_execute")
def _remember_statement_writes(execute_state: ORMExecuteState) -> None:
    # An UPDATE or DELETE statement run through the session (a loan's guarded count of copies
    # lent) changes rows that no flush sees.
    if execute_state.is_update or execute_state.is_delete:
        touched = execute_state.session.info.setdefault(TOUCHED, set())
        touched.add(execute_state.statement.table.name)  # type: ignore[attr-defined]


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
        max_bytes=settings.cache_max_bytes,
        backoff=app.extensions["shelf.redis_backoff"],
        enabled=settings.cache_enabled and coherent,
    )
