"""Every error leaves the service as `application/problem+json` (RFC 9457).

The `AppError` tree (`shelf.core.errors`), werkzeug's HTTP exceptions, pydantic validation
errors, unique-constraint violations and database timeouts become the same body, with the
request id. Nothing from an exception's text reaches a client unless it was written for one.
"""

from __future__ import annotations

import copy
import functools
import logging
from http import HTTPStatus
from typing import Any

import orjson
from apiflask import APIFlask, HTTPError
from flask import Response, request
from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from shelf.core.errors import AppError, Detail
from shelf.web import state

__all__ = [
    "HINTS",
    "PROBLEM_MIMETYPE",
    "Problem",
    "details_from_pydantic",
    "init_app",
    "problem_body",
    "problem_response",
    "problem_schema",
]

PROBLEM_MIMETYPE = "application/problem+json"
log = logging.getLogger(__name__)

HINTS: dict[str, str] = {
    "missing": "Add this required field.",
    "extra_forbidden": "Remove this field; the schema at /openapi.json lists the accepted fields.",
    "string_too_short": "Send at least {min_length} character(s).",
    "string_too_long": "Send at most {max_length} characters.",
    "string_type": "Send a JSON string.",
    "int_type": "Send a whole number.",
    "int_parsing": "Send a whole number, e.g. 2024.",
    "int_from_float": "Send a whole number without a fraction.",
    "greater_than_equal": "Send a number of at least {ge}.",
    "less_than_equal": "Send a number of at most {le}.",
    "model_type": "Send a JSON object.",
    "dict_type": "Send a JSON object.",
    "model_attributes_type": "Send a JSON object.",
}
DEFAULT_HINT = "Check the value against the schema at /openapi.json."


class ProblemDetail(BaseModel):
    field: str = Field(examples=["isbn"])
    issue: str = Field(examples=["not a valid ISBN-10 or ISBN-13"])
    hint: str = Field(examples=["Send an ISBN-10 or ISBN-13 with a valid check digit."])


class Problem(BaseModel):
    """An RFC 9457 problem with the house fields."""

    type: str = Field("about:blank", examples=["about:blank"])
    title: str = Field(examples=["Unprocessable Content"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["Invalid values: isbn."])
    code: str = Field(examples=["VALIDATION_FAILED"])
    message: str = Field(examples=["Invalid values: isbn."])
    details: list[ProblemDetail] = []
    request_id: str | None = Field(None, examples=["7f3c9a0e2b5d4c1f8e6a9b0c1d2e3f40"])


def problem_schema() -> dict[str, Any]:
    """The Problem model as one self-contained OpenAPI schema object (a copy of its own)."""
    return copy.deepcopy(_problem_schema())


@functools.cache
def _problem_schema() -> dict[str, Any]:
    # Built once: pydantic's schema generation is a quarter of the cost of building an app.
    schema = Problem.model_json_schema()
    definitions = schema.pop("$defs")
    schema["properties"]["details"]["items"] = definitions["ProblemDetail"]
    return schema


HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    412: "PRECONDITION_FAILED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_FAILED",
    428: "PRECONDITION_REQUIRED",
    429: "RATE_LIMITED",
    431: "HEADERS_TOO_LARGE",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}

HTTP_MESSAGES = {
    400: "The request body is not valid JSON; check its syntax.",
    404: "Nothing is here. Check the path; the API index lists the resources.",
    405: "This method is not allowed here; the Allow header lists those that are.",
    413: "The request body is too large.",
    415: "Send the body as JSON with the header Content-Type: application/json.",
    429: "Too many requests. Wait the number of seconds in Retry-After, then try again.",
    500: "Something went wrong on our side. Quote the request id when you report it.",
}


def _hint(error: Any) -> str:
    context = error.get("ctx") or {}
    if "hint" in context:
        return str(context["hint"])
    template = HINTS.get(error["type"], DEFAULT_HINT)
    try:
        return template.format(**context)
    except (KeyError, IndexError):
        return DEFAULT_HINT


def details_from_pydantic(error: PydanticValidationError) -> list[Detail]:
    """One detail per invalid field: its dotted path, what is wrong, and how to fix it."""
    details: list[Detail] = []
    for item in error.errors(include_url=False):
        location = ".".join(str(part) for part in item["loc"]) or "body"
        details.append({"field": location, "issue": item["msg"], "hint": _hint(item)})
    return details


def problem_response(
    status: int,
    message: str,
    *,
    code: str | None = None,
    details: list[Detail] | None = None,
    headers: Any = None,
) -> Response:
    """Build an RFC 9457 problem response with the house fields."""
    body = problem_body(
        status, message, code=code, details=details, request_id=state.request_id(request.environ)
    )
    response = Response(body, status=status, mimetype=PROBLEM_MIMETYPE)
    response.headers.update(headers or {})
    return response


def problem_body(
    status: int,
    message: str,
    *,
    code: str | None = None,
    details: list[Detail] | None = None,
    request_id: str | None = None,
) -> bytes:
    """The JSON of an RFC 9457 problem with the house fields (for answers made outside Flask)."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": message,
        "code": code or HTTP_CODES.get(status, "ERROR"),
        "message": message,
        "details": details or [],
        "request_id": request_id,
    }
    return orjson.dumps(body)


def _from_app_error(error: AppError) -> Response:
    return problem_response(
        error.status, error.message, code=error.code, details=error.details, headers=error.headers
    )


def _from_http_error(error: HTTPError) -> Response:
    # APIFlask wraps werkzeug errors and input validation failures in HTTPError.
    cause = error.__cause__
    if isinstance(cause, PydanticValidationError):
        details = details_from_pydantic(cause)
        fields = ", ".join(d["field"] for d in details)
        return problem_response(422, f"Invalid values: {fields}.", details=details)
    status = error.status_code
    message = HTTP_MESSAGES.get(status) or str(error.message)
    if status == 413:
        message = (
            f"The request body is larger than the limit of {request.max_content_length} bytes."
        )
    return problem_response(status, message, headers=error.headers)


def _from_integrity_error(error: IntegrityError) -> Response:
    log.info("integrity error", exc_info=error)
    return problem_response(
        409, "The change conflicts with existing data (a value that must be unique is taken)."
    )


def _from_database_unavailable(error: DBAPIError | PoolTimeoutError) -> Response:
    log.warning("database unavailable", exc_info=error)
    return problem_response(
        503,
        "The database is busy or unreachable; retry shortly.",
        headers={"Retry-After": "2"},
    )


def _from_unexpected(error: Exception) -> Response:
    log.error("unhandled exception", exc_info=error)
    return problem_response(500, HTTP_MESSAGES[500])


def init_app(app: APIFlask) -> None:
    """Route every error through problem_response."""
    app.error_processor(_from_http_error)
    app.register_error_handler(AppError, _from_app_error)
    app.register_error_handler(IntegrityError, _from_integrity_error)
    app.register_error_handler(OperationalError, _from_database_unavailable)
    app.register_error_handler(PoolTimeoutError, _from_database_unavailable)
    app.register_error_handler(Exception, _from_unexpected)
