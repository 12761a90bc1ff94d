"""Anonymous cache hits, answered before Flask builds its request.

A cache hit is the hottest path of the service, and most of its time went to Flask itself: the
request and app contexts, the hooks, the view's decorators and the response they build around a
body that is already made. `CachedReadShortcut` answers an anonymous GET of a cached view from
the cache with the same parts Flask would use: Flask's own request class and URL map, the app's
rate limiter (one Redis call that also fetches the entry) and the cache's response builders. The
answer is the one the view would give, byte for byte and header for header (tested).

Anything else goes on to Flask unchanged: a request with credentials, another method, a route
that is not cached or is cached per caller, a miss, or a caller over its limit (Flask answers
429). What the shortcut counted goes along with it in the request state, so no request is
counted twice. Flask's hooks do not run for the hits it answers: both paths finish a response
through `finisher.finish`, and what every request needs is in the envelope around both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from shelf.core.cache_store import ResponseCache
from shelf.core.ratelimit import RateLimiter, anonymous_identity, exceeded, tightest
from shelf.web import caching, state
from shelf.web.credentials import has_credentials
from shelf.web.finisher import finish
from shelf.web.request_rules import is_api_path

__all__ = ["CachedReadShortcut"]

StartResponse = Callable[..., Any]


class CachedReadShortcut:
    """WSGI middleware answering anonymous cache hits under `api_prefixes` without Flask."""

    def __init__(self, app: Flask, api_prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.wsgi_app = app.wsgi_app
        self.api_prefixes = api_prefixes

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if (
            environ["REQUEST_METHOD"] == "GET"
            and is_api_path(environ.get("PATH_INFO", ""), self.api_prefixes)
            and not has_credentials(environ)
        ):
            response = self._cached_answer(environ)
            if response is not None:
                return response(environ, start_response)
        return self.wsgi_app(environ, start_response)

    def _cached_answer(self, environ: dict[str, Any]) -> Response | None:
        app = self.app
        cache: ResponseCache = app.extensions["shelf.cache"]
        if not cache.enabled:  # e.g. several workers and no Redis to keep them coherent
            return None
        request = app.request_class(environ, populate_request=False)
        try:
            adapter = app.create_url_adapter(request)
            rule, _ = adapter.match(return_rule=True)  # type: ignore[union-attr]
        except HTTPException:  # no such route, another method, a redirect: Flask answers
            return None
        view = app.view_functions[rule.endpoint]
        policy = caching.cache_policy(view)
        if policy is None or policy.vary != "public":
            return None
        request_state = state.of(environ)
        limiter: RateLimiter = app.extensions["shelf.limiter"]
        windows, fetched = limiter.hit(
            anonymous_identity(request.remote_addr),
            rule.endpoint,
            caching.probe(cache, view, request, request_state),
        )
        request_state.counted = windows, fetched
        if exceeded(windows):
            return None
        field = caching.cache_field(request, request_state, policy)
        if field is None:  # an invalid query: Flask answers 422
            return None
        entry, _ = cache.entry(policy.resource, field, fetched)
        hit = cache.unpack(entry)
        if hit is None:
            return None
        request_state.route = rule.rule
        request_state.rate_limit = tightest(windows)
        request_state.public_read = True
        response = caching.hit_response(app.response_class, hit)
        return finish(response, environ, request_state, app.extensions["shelf.settings"])
