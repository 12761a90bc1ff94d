"""The one function that finishes a response, on Flask's path and the anonymous-hit shortcut alike.

Whatever a response needs once its view (or the cache) has answered goes here, so that a new
concern reaches every answer: Cache-Control, the RateLimit-* headers, the ETag and the
conditional answer (304), and no Content-Type on a 204. What every request needs, even one no
route matched, is the envelope's (`shelf.web.envelope`).
"""

from __future__ import annotations

from typing import Any

from apiflask import APIFlask
from flask import Response, request

from shelf.config import Settings
from shelf.web import state
from shelf.web.limits import add_headers
from shelf.web.state import RequestState

__all__ = ["answer_conditionally", "finish", "init_app"]


def finish(
    response: Response, environ: dict[str, Any], request_state: RequestState, settings: Settings
) -> Response:
    """Finish `response` to the request in `environ`."""
    if request_state.principal is not None:
        response.headers["Cache-Control"] = "no-store"
    elif request_state.public_read:
        # Shared caches may keep an anonymous read for CACHE_PUBLIC_MAX_AGE seconds.
        response.headers["Cache-Control"] = f"public, max-age={settings.cache_public_max_age}"
    add_headers(response, request_state.rate_limit)
    if response.status_code == 204:  # no body, so no type for it (the view's JSON mimetype)
        response.headers.remove("Content-Type")
    if environ["REQUEST_METHOD"] == "GET" and response.status_code == 200 and response.is_json:
        if "ETag" not in response.headers:
            response.add_etag()
        answer_conditionally(response, environ)
    return response


def answer_conditionally(response: Response, environ: dict[str, Any]) -> Response:
    """304 Not Modified when the request's If-None-Match / If-Modified-Since still hold."""
    # Only a conditional request can be answered 304, and werkzeug's check (which also formats
    # a Date header the server adds anyway) costs ~30 us: run it only then.
    if "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ:
        response.make_conditional(environ)
    return response


def init_app(app: APIFlask, settings: Settings) -> None:
    """Finish every response Flask gives through `finish`."""

    def finish_response(response: Response) -> Response:
        return finish(response, request.environ, state.current(), settings)

    app.after_request(finish_response)
