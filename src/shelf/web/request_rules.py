"""Rules every API request meets before its view runs, and the one test of what is an API request.

A path has no empty segment (404). Bodies of API writes must be JSON objects within
MAX_CONTENT_LENGTH (415, 413, 422), but those of views marked `form_body` (the OAuth 2
endpoints, RFC 6749), which take `application/x-www-form-urlencoded`; a write may be required to
carry If-Match (428).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from apiflask import APIFlask
from flask import Response, current_app, request
from werkzeug.exceptions import NotFound, RequestEntityTooLarge

from shelf.core.errors import AppError, PreconditionRequiredError, ValidationFailedError

__all__ = [
    "FORM_MIMETYPE",
    "UnsupportedMediaTypeError",
    "form_body",
    "if_match",
    "init_app",
    "is_api_path",
    "refuse_empty_path_segments",
    "vary_on_origin",
]

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
FORM_MIMETYPE = "application/x-www-form-urlencoded"
View = TypeVar("View", bound=Callable[..., Any])


class UnsupportedMediaTypeError(AppError):
    status, code = 415, "UNSUPPORTED_MEDIA_TYPE"


def is_api_path(path: str, api_prefixes: tuple[str, ...]) -> bool:
    """Whether `path` is the API's (under a version's prefix, `Settings.api_prefixes`), not
    operations' or the docs'.

    The one definition used by the body rules, the rate limits, the anonymous-hit shortcut and
    the OpenAPI document.
    """
    return path in api_prefixes or path.startswith(_below(api_prefixes))


@cache
def _below(api_prefixes: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{prefix}/" for prefix in api_prefixes)


def form_body(view: View) -> View:
    """Mark `view` as taking a form-encoded body instead of JSON (OAuth 2's endpoints)."""
    view.form_body = True  # type: ignore[attr-defined]
    return view


def _require_json_body(api_prefixes: tuple[str, ...]) -> None:
    if request.method not in BODY_METHODS or request.url_rule is None:
        return
    if not is_api_path(request.path, api_prefixes):
        return
    has_body = request.content_length or request.headers.get("Transfer-Encoding")
    if getattr(current_app.view_functions.get(request.endpoint or ""), "form_body", False):
        if has_body and request.mimetype != FORM_MIMETYPE:
            raise UnsupportedMediaTypeError(
                f"Send the body form-encoded, with the header Content-Type: {FORM_MIMETYPE}."
            )
        return
    if has_body and not request.is_json:
        raise UnsupportedMediaTypeError(
            "Send the body as JSON with the header Content-Type: application/json."
        )
    if has_body and request.content_length is None and _streamed_body_too_large():
        raise RequestEntityTooLarge()
    if has_body and request.get_data().strip() == b"null":
        # The input layer would read a bare null as an empty object.
        raise ValidationFailedError(
            "The body must be a JSON object, not null.",
            details=[{"field": "body", "issue": "is null", "hint": "Send a JSON object."}],
        )


def _streamed_body_too_large() -> bool:
    """Whether a body sent without Content-Length (chunked) runs past MAX_CONTENT_LENGTH.

    Werkzeug stops reading such a body at the limit without saying so; the JSON would then be
    judged on its first part only.
    """
    limit = request.max_content_length
    if limit is None or len(request.get_data()) < limit:
        return False
    return bool(request.environ["wsgi.input"].read(1))


def if_match() -> str | None:
    """The write's If-Match header; 428 when the deployment requires one and it is missing."""
    value = request.headers.get("If-Match")
    if value is None and current_app.extensions["shelf.settings"].require_if_match:
        raise PreconditionRequiredError(
            "This server requires If-Match on writes: GET the resource, then send its ETag."
        )
    return value


def vary_on_origin(response: Response) -> Response:
    """With CORS on, say that every answer depends on Origin, allowed or not.

    flask-cors says so only to allowed origins; a shared cache could otherwise hand the answer
    it stored for a refused origin (without CORS headers) to an allowed one.
    """
    response.vary.add("Origin")
    return response


def refuse_empty_path_segments() -> None:
    """404 for a path with `//` in it: it names nothing here.

    Werkzeug would strip leading slashes (`//` served `/`) and answer other runs of slashes with
    a 308 whose Location it builds from the Host header: a redirect a request could aim
    anywhere. Matching never merges slashes (see `init_app`); this answers the rest.
    """
    if "//" in request.environ.get("PATH_INFO", ""):
        raise NotFound()


def init_app(app: APIFlask, api_prefixes: tuple[str, ...]) -> None:
    """Refuse paths with empty segments, and check the bodies of API writes, before views run."""
    app.url_map.merge_slashes = False

    def require_json_body() -> None:
        _require_json_body(api_prefixes)

    app.before_request(refuse_empty_path_segments)
    app.before_request(require_json_body)
