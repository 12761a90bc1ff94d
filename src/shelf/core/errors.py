"""The errors the service raises on purpose; each leaves as `application/problem+json`.

    AppError                     500 INTERNAL_ERROR
    ├── BadRequestError          400 BAD_REQUEST
    ├── UnauthorizedError        401 UNAUTHORIZED
    ├── ForbiddenError           403 FORBIDDEN
    ├── NotFoundError            404 NOT_FOUND
    ├── ConflictError            409 CONFLICT
    ├── GoneError                410 GONE
    ├── PreconditionFailedError  412 PRECONDITION_FAILED
    ├── ValidationFailedError    422 VALIDATION_FAILED
    ├── PreconditionRequiredError 428 PRECONDITION_REQUIRED
    ├── RateLimitedError         429 RATE_LIMITED
    └── ServiceUnavailableError  503 SERVICE_UNAVAILABLE

`message` is written for the client; `details` say which field is wrong and how to fix it.
This module imports nothing of Shelf; `shelf.web.problems` renders these errors.
"""

from __future__ import annotations

from typing import TypedDict

__all__ = [
    "AppError",
    "BadRequestError",
    "ConflictError",
    "Detail",
    "ForbiddenError",
    "GoneError",
    "NotFoundError",
    "PreconditionFailedError",
    "PreconditionRequiredError",
    "RateLimitedError",
    "ServiceUnavailableError",
    "UnauthorizedError",
    "ValidationFailedError",
]


class Detail(TypedDict):
    """One entry of a problem's `details`: what is wrong with which field and how to fix it."""

    field: str
    issue: str
    hint: str


class AppError(Exception):
    """Base of the errors the service raises on purpose; `message` is written for the client."""

    status = 500
    code = "INTERNAL_ERROR"

    def __init__(
        self,
        message: str,
        *,
        details: list[Detail] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.headers = headers or {}


class BadRequestError(AppError):
    status, code = 400, "BAD_REQUEST"


class UnauthorizedError(AppError):
    status, code = 401, "UNAUTHORIZED"


class ForbiddenError(AppError):
    status, code = 403, "FORBIDDEN"


class NotFoundError(AppError):
    status, code = 404, "NOT_FOUND"


class ConflictError(AppError):
    status, code = 409, "CONFLICT"


class GoneError(AppError):
    status, code = 410, "GONE"


class PreconditionFailedError(AppError):
    status, code = 412, "PRECONDITION_FAILED"


class ValidationFailedError(AppError):
    status, code = 422, "VALIDATION_FAILED"


class PreconditionRequiredError(AppError):
    status, code = 428, "PRECONDITION_REQUIRED"


class RateLimitedError(AppError):
    status, code = 429, "RATE_LIMITED"


class ServiceUnavailableError(AppError):
    status, code = 503, "SERVICE_UNAVAILABLE"
