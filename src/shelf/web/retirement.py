"""Retiring an operation that a later API version replaces (RFC 9745, RFC 8594).

`@retired(successor="books_v2.get_book_v2", deprecated=..., sunset=...)` on a view marks the
operation deprecated in OpenAPI, and every answer it gives carries:

- `Deprecation: @<seconds since 1970>`: since when it is deprecated (RFC 9745);
- `Sunset: <HTTP date>`: when it stops answering (RFC 8594); from then on it is 410 Gone;
- `Link: <...>; rel="successor-version"`: the same resource in the version that replaces it.

Answers the view raises (a 404) carry them too. The link is relative to the request, like
page links, so that no proxy's prefix reaches a cached answer. Put the decorator below
`@cached`, so that a cache hit answers with the headers too.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from flask import current_app, request
from werkzeug.http import http_date

from shelf.core.errors import AppError, GoneError

__all__ = ["RETIREMENT_HEADERS", "retired"]

# The headers a retired operation's answers carry, as OpenAPI documents them.
RETIREMENT_HEADERS = {
    "Deprecation": {
        "description": "Since when this operation is deprecated (RFC 9745): @ and a Unix time.",
        "schema": {"type": "string", "example": "@1796083200"},
    },
    "Sunset": {
        "description": "When this operation stops answering (RFC 8594); after it, 410 Gone.",
        "schema": {"type": "string", "example": "Wed, 30 Jun 2027 00:00:00 GMT"},
    },
    "Link": {
        "description": 'The same resource in the version that replaces this one: rel="successor'
        '-version", relative to the request.',
        "schema": {"type": "string", "example": '<../../v2/books/1>; rel="successor-version"'},
    },
}


def retired(
    *, successor: str, deprecated: datetime, sunset: datetime
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Announce that the view is replaced by the endpoint `successor` (taking the same URL
    variables), deprecated since `deprecated` and gone from `sunset` (both UTC)."""
    headers = {
        "Deprecation": f"@{int(deprecated.timestamp())}",
        "Sunset": http_date(sunset),
    }

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            link = f'<{_relative_url(successor)}>; rel="successor-version"'
            if datetime.now(UTC) >= sunset:
                raise GoneError(
                    f"This operation was retired on {sunset:%Y-%m-%d}. Use its successor: "
                    f"{link}, which the Link header gives too.",
                    headers={**headers, "Link": link},
                )
            try:
                response = current_app.make_response(view(*args, **kwargs))
            except AppError as error:  # e.g. a 404: the client learns of the successor too
                error.headers = {**headers, "Link": link, **error.headers}
                raise
            response.headers.update(headers)
            existing = response.headers.get("Link")
            response.headers["Link"] = f"{existing}, {link}" if existing else link
            return response

        spec = wrapper._spec = dict(getattr(view, "_spec", {}))  # type: ignore[attr-defined]
        spec["deprecated"] = True
        note = (
            f"Deprecated since {deprecated:%Y-%m-%d}; answers 410 Gone from {sunset:%Y-%m-%d}. "
            "The Link header (rel=successor-version) gives the operation that replaces it."
        )
        # What the docstring says below its summary line, as APIFlask would have shown it.
        described = spec.get("description") or "\n".join((view.__doc__ or "").splitlines()[1:])
        spec["description"] = f"{described.strip()}\n\n{note}".strip()
        return wrapper

    return decorator


def _relative_url(endpoint: str) -> str:
    """The URL of `endpoint` for this request's URL variables, relative to this request."""
    adapter = current_app.url_map.bind("")
    target = adapter.build(endpoint, request.view_args or {})
    return posixpath.relpath(target, posixpath.dirname(request.path))
