"""Checks of HTTP answers that every API test makes the same way."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["PROBLEM_FIELDS", "assert_problem", "page_of"]

PROBLEM_FIELDS = {"type", "title", "status", "detail", "code", "message", "details", "request_id"}


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """Check `response` is an RFC 9457 problem with `status` and Shelf's `code`; its body."""
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body.keys() >= PROBLEM_FIELDS
    assert body["status"] == status
    assert body["code"] == code
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


def page_of(link: str) -> int:
    """The page number a pagination link points to."""
    return int(parse_qs(urlsplit(link).query)["page"][0])
