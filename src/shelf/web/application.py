"""The Flask application class, its JSON provider and its session interface."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

import orjson
from apiflask import APIFlask
from flask import Request, request
from flask.json.provider import JSONProvider
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from shelf.core.db import retry_if_lost

__all__ = ["LazyCookieSessions", "OrjsonProvider", "ShelfFlask"]

READS = frozenset({"GET", "HEAD"})


class OrjsonProvider(JSONProvider):
    """JSON through orjson: several times faster than the standard library."""

    def dumps(self, obj: object, **kwargs: object) -> str:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()

    def loads(self, s: str | bytes, **kwargs: object) -> object:
        return orjson.loads(s)


class ShelfFlask(APIFlask):
    """APIFlask, asking once per function (not on every call) whether it is a coroutine, and
    running a read's view once more when its database connection was lost.

    Flask checks every hook and view on every request, ~3 us each, a dozen times per request.
    """

    def dispatch_request(self) -> Any:
        """The view's answer; a GET or HEAD whose connection was lost is read again once."""
        if request.method in READS:
            return retry_if_lost(super().dispatch_request)
        return super().dispatch_request()

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            return self._sync_functions[func]
        except KeyError:
            sync = self._sync_functions[func] = super().ensure_sync(func)
            return sync

    @cached_property
    def _sync_functions(self) -> dict[Callable[..., Any], Callable[..., Any]]:
        return {}


class LazyCookieSessions(SecureCookieSessionInterface):
    """Flask's cookie sessions, without building a signing serializer for requests with no cookie.

    API calls carry no session cookie, yet Flask prepared one on every request: 6% of the CPU
    of GET /health in-process. A request with a session cookie is handled as before.
    """

    def open_session(self, app: APIFlask, request: Request) -> SecureCookieSession | None:  # type: ignore[override]
        if "HTTP_COOKIE" not in request.environ or self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)
