"""One typed state object per request, kept in the WSGI environ under one key.

The envelope creates it; the anonymous-hit shortcut and Flask's hooks fill it; the finisher,
the error renderer and the envelope's log line read it. Nothing else about a request is kept
anywhere (no `flask.g` attributes, no other environ keys).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import request

from shelf.core.cache_store import Prefetch
from shelf.core.principal import Principal
from shelf.core.ratelimit import WindowState

__all__ = ["ENVIRON_KEY", "RequestState", "current", "of", "request_id"]

ENVIRON_KEY = "shelf.state"


@dataclass(slots=True)
class RequestState:
    """What Shelf knows about the request being served."""

    request_id: str
    # The route template, when the request was answered before Flask matched it.
    route: str | None = None
    principal: Principal | None = None
    # Credentials were sent and matched no one: refused once the request has been counted.
    unknown_credentials: bool = False
    # The scopes the view asked for, named in a 403.
    required_scopes: list[str] = field(default_factory=list)
    # Rate-limit windows already counted (by the shortcut), and the cache entry fetched with them.
    counted: tuple[list[WindowState], Prefetch | None] | None = None
    # The window the RateLimit-* headers describe.
    rate_limit: WindowState | None = None
    cache_prefetch: Prefetch | None = None
    # A public read served through the response cache: shared caches may keep it briefly.
    public_read: bool = False
    # Cache fields computed for this request, by who the entry varies by (None: not cacheable).
    cache_fields: dict[str, str | None] = field(default_factory=dict)


def of(environ: dict[str, Any]) -> RequestState:
    """The state of the request in `environ` (one without an envelope gets an empty one)."""
    state: RequestState | None = environ.get(ENVIRON_KEY)
    if state is None:
        state = environ[ENVIRON_KEY] = RequestState(request_id="")
    return state


def current() -> RequestState:
    """The state of the request being served by Flask."""
    return of(request.environ)


def request_id(environ: dict[str, Any]) -> str | None:
    """The id of the request in `environ`, when the envelope gave it one."""
    state: RequestState | None = environ.get(ENVIRON_KEY)
    return state.request_id if state is not None and state.request_id else None
