"""`@idempotent`: a creating POST that a client may retry safely with an `Idempotency-Key`.

Put it right below `@bp.auth_required(...)` (above `@bp.input`, `@bp.output` and `@bp.doc`,
whose OpenAPI it adds to):

    @bp.post("")
    @bp.auth_required(auth, roles=WRITE)
    @idempotent
    @bp.input(BookCreate, arg_name="data")
    ...

Semantics of the IETF draft "The Idempotency-Key HTTP Header Field": the key is a string of
1-255 printable ASCII characters, bare or as the draft's quoted sf-string (`"abc"` and `abc`
are the same key). The first complete (2xx) answer to a key is stored with the change, in its
transaction (`shelf.idempotency.service`), and replayed for 24 hours with
`Idempotent-Replayed: true`: same status, body bytes, Content-Type, Location and ETag. The same
key with another request is 422; while the first request is in flight, 409.

Error answers are not stored, though the draft allows replaying them: a failed request changed
nothing (its transaction rolled back), so running it again cannot apply anything twice, and a
stored error would pin a passing failure (503, 429, an ISBN taken then freed) to the key for a
day, at the cost of a write per failed request.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial, wraps
from http import HTTPStatus
from typing import Any

from flask import Response, current_app, request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from werkzeug.datastructures import Headers

from shelf.auth.schemes import current_principal
from shelf.core.concurrency import commit_or_raise, deferred_commits
from shelf.core.errors import ValidationFailedError
from shelf.extensions import db
from shelf.idempotency import service
from shelf.idempotency.service import HEADER, StoredResponse

__all__ = ["HEADER", "REPLAYED_HEADER", "current_caller", "idempotent", "requested_key"]

REPLAYED_HEADER = "Idempotent-Replayed"
# What of the first answer a replay repeats; the rest (Cache-Control, RateLimit-*, the request
# id) belongs to the request being answered now.
KEPT_HEADERS = ("Content-Type", "Location", "ETag", "Content-Location", "Last-Modified", "Link")
PRINTABLE_KEY = re.compile(r"[\x20-\x7e]{1,255}")
SF_STRING = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"')  # RFC 8941 3.3.3
EXAMPLE_KEY = "8e03978e-40d5-43e8-bc93-6894a57f9324"
HINT = (
    f"Send 1 to 255 printable ASCII characters, once, such as a UUID: "
    f'{HEADER}: "{EXAMPLE_KEY}" (or without the quotes).'
)
IN_FLIGHT = (
    f"A request with this {HEADER} is still in flight (code IDEMPOTENCY_KEY_IN_FLIGHT): retry "
    "the same request after Retry-After seconds to get its answer."
)
INVALID_KEY = (
    f"{HEADER} is malformed (details[0].field is {HEADER}), or was already used with another "
    "method, path or body (code IDEMPOTENCY_KEY_REUSED)."
)
REPLAYED = {
    REPLAYED_HEADER: {
        "description": f"`true` when this is the stored first answer to the {HEADER} sent, "
        "replayed (same status, body, Location and ETag); absent on a first answer.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


def _optional(schema: dict[str, Any]) -> None:
    schema.pop("required", None)  # without the header, the POST is an ordinary one


class IdempotencyKeyHeader(BaseModel):
    """The header as OpenAPI shows it; `requested_key` reads and checks it."""

    model_config = ConfigDict(json_schema_extra=_optional)

    idempotency_key: str = Field(
        alias=HEADER,
        min_length=1,
        max_length=257,
        description=f"Makes this POST safe to retry. {HINT} The first successful answer is "
        "stored with the change and replayed for 24 hours to the same caller sending the same "
        f"key and request, with {REPLAYED_HEADER}: true. The same key with another request is "
        "422; while the first is still being processed, 409. Keys of different callers never "
        "collide.",
        examples=[f'"{EXAMPLE_KEY}"'],
    )


def requested_key(headers: Headers) -> str | None:
    """The request's idempotency key, None when it sent none; 422 when it is malformed."""
    values = headers.getlist(HEADER)
    if not values:
        return None
    if len(values) > 1:
        raise _invalid("sent more than once")
    value = values[0].strip()
    if value.startswith('"'):
        quoted = SF_STRING.fullmatch(value)
        if quoted is None:
            raise _invalid('not a valid quoted string (only \\" and \\\\ may be escaped)')
        value = re.sub(r'\\(["\\])', r"\1", quoted.group(1))
    if not PRINTABLE_KEY.fullmatch(value):
        raise _invalid("not 1 to 255 printable ASCII characters")
    return value


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Answer a retry of this POST with the same `Idempotency-Key` from the stored first answer
    (see the module's docstring); document the header and its answers in OpenAPI."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        key = requested_key(request.headers)
        if key is None:
            return current_app.make_response(view(*args, **kwargs))
        return _once(partial(view, *args, **kwargs), key)

    _document(wrapper, view)
    return wrapper


def _once(view: Callable[[], Any], key: str) -> Response:
    """Run `view` once for `key`: its answer and the change commit together, or replay."""
    session: Session = db.session
    caller = current_caller()
    body = request.get_data(cache=True)  # cached: the view's input parsing reads it again
    fingerprint = service.fingerprint(request.method, request.path, body)
    secret = current_app.extensions["shelf.settings"].secret_key.get_secret_value()
    try:
        stored = service.claim(
            session, caller=caller, key=key, fingerprint=fingerprint, secret=secret
        )
        if stored is not None:
            session.rollback()  # it only read: end the transaction, and its lock, now
            return _replay(stored)
        with deferred_commits(session):
            response: Response = current_app.make_response(view())
        if 200 <= response.status_code < 300:
            answer = StoredResponse(response.status_code, _kept(response), response.get_data())
            service.store(
                session, caller=caller, key=key, fingerprint=fingerprint, response=answer,
                secret=secret,
            )  # fmt: skip
        else:  # an answer that is no success: what it did commits, as without a key
            commit_or_raise(session, what="request")
    except BaseException:
        _roll_back(session)
        raise
    return response


def current_caller() -> str:
    """Whose keys these are: the principal's kind and subject, else the client's address."""
    principal = current_principal()
    if principal is not None:
        return f"{principal.kind}:{principal.subject}"
    return f"anonymous:{request.remote_addr or 'unknown'}"


def _kept(response: Response) -> dict[str, str]:
    return {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}


def _replay(stored: StoredResponse) -> Response:
    response: Response = current_app.response_class(
        stored.body, status=stored.status, headers=stored.headers
    )
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _roll_back(session: Session) -> None:
    # The request fails anyway; a database that went away must not hide why it did.
    try:
        session.rollback()
    except DBAPIError:
        current_app.logger.warning("rolling back a failed idempotent request failed")


def _invalid(issue: str) -> ValidationFailedError:
    return ValidationFailedError(
        f"Invalid {HEADER} header: {issue}. {HINT}",
        details=[{"field": HEADER, "issue": issue, "hint": HINT}],
    )


def _document(wrapper: Callable[..., Any], view: Callable[..., Any]) -> None:
    """Add the header, the 409 and 422 and the replayed answer's header to the view's OpenAPI
    (APIFlask's `_spec`, copied so that the wrapped view's stays as it was)."""
    spec = wrapper._spec = dict(getattr(view, "_spec", {}))  # type: ignore[attr-defined]
    spec["args"] = [*spec.get("args", []), (IdempotencyKeyHeader, "headers")]
    declared = spec.get("responses") or {}
    if isinstance(declared, list):
        declared = {status: HTTPStatus(int(status)).phrase for status in declared}
    responses: dict[Any, Any] = dict(declared)
    if spec.get("body"):  # APIFlask's own 422 of the body, which a declared 422 replaces
        responses.setdefault(422, "Invalid values in the body; `details` name each field.")
    for status, text in ((409, IN_FLIGHT), (422, INVALID_KEY)):
        existing = responses.get(status)
        if isinstance(existing, dict):  # a complete response object: only its description
            responses[status] = {**existing, "description": _or(existing.get("description"), text)}
        else:  # a description, which APIFlask documents with the problem schema
            responses[status] = _or(existing, text)
    success = spec.get("response", {}).get("status_code", 200)
    answer = _as_dict(responses.get(success))
    responses[success] = {**answer, "headers": {**answer.get("headers", {}), **REPLAYED}}
    spec["responses"] = responses


def _or(described: str | None, text: str) -> str:
    return f"{described} Or: {text[0].lower()}{text[1:]}" if described else text


def _as_dict(response: str | dict[str, Any] | None) -> dict[str, Any]:
    """A documented response as APIFlask's dict form (a string is its description)."""
    if isinstance(response, dict):
        return dict(response)
    return {"description": response} if response else {}
