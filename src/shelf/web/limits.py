"""Rate limiting of API requests: who is counted, the 429, and the RateLimit-* headers.

Requests to the API (any version) are counted (`request_rules.is_api_path`) per principal, or per
client address when anonymous; operational endpoints and the docs are not. The counting itself
is `shelf.core.ratelimit`.
"""

from __future__ import annotations

from apiflask import APIFlask
from flask import Response, current_app, request

from shelf.config import Settings
from shelf.core.errors import RateLimitedError
from shelf.core.ratelimit import (
    RateLimiter,
    WindowState,
    anonymous_identity,
    exceeded,
    make_limiter,
    tightest,
)
from shelf.web import caching, state
from shelf.web.request_rules import is_api_path

__all__ = ["add_headers", "check_endpoints", "init_app"]


def _check(api_prefixes: tuple[str, ...]) -> None:
    if not is_api_path(request.path, api_prefixes):
        return
    request_state = state.current()
    # A request the anonymous-hit shortcut looked at was counted there, not counted twice.
    counted, request_state.counted = request_state.counted, None
    if counted is None:
        limiter: RateLimiter = current_app.extensions["shelf.limiter"]
        view = current_app.view_functions.get(request.endpoint or "")
        cache = current_app.extensions["shelf.cache"]
        principal = request_state.principal
        identity = principal.subject if principal else anonymous_identity(request.remote_addr)
        probe = caching.probe(cache, view, request, request_state)
        counted = limiter.hit(identity, request.endpoint, probe)
    windows, request_state.cache_prefetch = counted
    request_state.rate_limit = tightest(windows)
    over = exceeded(windows)
    if over:
        wait = max(window.reset_seconds for window in over)
        raise RateLimitedError(
            f"Too many requests: the limit is {over[0].limit}. Wait the number of seconds "
            "in Retry-After, then try again.",
            headers={"Retry-After": str(wait)},
        )


def add_headers(response: Response, window: WindowState | None) -> Response:
    """Tell the caller where it stands in `window` (RateLimit-* headers)."""
    if window is not None:
        response.headers.extend(
            [
                ("RateLimit-Limit", str(window.limit.amount)),
                ("RateLimit-Remaining", str(window.remaining)),
                ("RateLimit-Reset", str(window.reset_seconds)),
            ]
        )
    return response


def init_app(app: APIFlask, settings: Settings) -> RateLimiter:
    """Bind a limiter to `app`; install after the scheme that identifies the caller."""
    limiter = make_limiter(
        settings, app.extensions["shelf.redis"], app.extensions["shelf.redis_backoff"]
    )
    app.extensions["shelf.limiter"] = limiter

    api_prefixes = settings.api_prefixes

    def count_request() -> None:
        _check(api_prefixes)

    app.before_request(count_request)
    return limiter


def check_endpoints(app: APIFlask) -> None:
    """Refuse to start when ENDPOINT_RATE_LIMITS names an endpoint that does not exist."""
    limiter: RateLimiter = app.extensions["shelf.limiter"]
    for endpoint in limiter.per_endpoint:
        if endpoint not in app.view_functions:
            known = ", ".join(sorted(e for e in app.view_functions if "." in e))
            raise ValueError(
                f"ENDPOINT_RATE_LIMITS names unknown endpoint {endpoint!r}; known: {known}"
            )
