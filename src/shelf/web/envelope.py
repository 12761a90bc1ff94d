"""The envelope around every request, whatever answers it: Flask, the shortcut or an error.

It gives the request its state and id, refuses header fields past MAX_HEADER_BYTES (431), adds
the security headers and the request id to the response, and records one log line and the
metrics once the app has answered.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from flask import has_request_context, request

from shelf.observability.metrics import record_request
from shelf.web.problems import PROBLEM_MIMETYPE, problem_body
from shelf.web.state import ENVIRON_KEY, RequestState

__all__ = ["MAX_HEADER_BYTES", "REQUEST_ID_HEADER", "UNMATCHED", "RequestEnvelope", "header_bytes"]

REQUEST_ID_HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)
UNMATCHED = "<unmatched>"  # the route label of a request no route matched
# The header fields a request may send, names and values together: nginx's default buffers
# (4 x 8 KiB). Larger ones get a 431 here, with the usual headers; the servers are set to pass
# them on up to a larger bound of their own (shelf.server).
MAX_HEADER_BYTES = 32 * 1024
StartResponse = Callable[..., Any]


class RequestEnvelope:
    """WSGI middleware around the app: what every response gets, whatever produced it.

    The request id (the caller's `X-Request-ID` if sane, else a new one) is bound to every log
    line of the request and echoed in the response with the security headers; when the app has
    answered, one log line and the metrics are recorded. Done on the raw WSGI call rather than in
    four Flask hooks, this saves ~45 us per request (bench/README.md).
    """

    def __init__(self, wsgi_app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]):
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        offered = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = offered if SANE_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
        request_state = environ[ENVIRON_KEY] = RequestState(request_id=request_id)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status, route = "500", UNMATCHED

        def start(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            # Called by the app while its request context is still active.
            nonlocal status, route
            status = status_line[:3]
            rule = request.url_rule if has_request_context() else None
            route = rule.rule if rule is not None else request_state.route or UNMATCHED
            present = {name.lower() for name, _ in headers}
            headers.extend(h for h in SECURITY_HEADERS if h[0].lower() not in present)
            headers.append((REQUEST_ID_HEADER, request_id))
            return start_response(status_line, headers, exc_info)

        try:
            if header_bytes(environ) > MAX_HEADER_BYTES:
                return _headers_too_large(request_id, start)
            return self.wsgi_app(environ, start)
        finally:
            record_request(environ, route, status, time.perf_counter() - started)


def header_bytes(environ: dict[str, Any]) -> int:
    """About how large the request's header fields are: their names and values."""
    return sum(len(key) + len(value) for key, value in environ.items() if key[:5] == "HTTP_")


def _headers_too_large(request_id: str, start: StartResponse) -> list[bytes]:
    body = problem_body(
        431,
        f"The request's header fields add up to more than {MAX_HEADER_BYTES} bytes; "
        "send fewer or shorter ones.",
        request_id=request_id,
    )
    start(
        "431 Request Header Fields Too Large",
        [("Content-Type", PROBLEM_MIMETYPE), ("Content-Length", str(len(body)))],
    )
    return [body]
