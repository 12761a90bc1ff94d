"""The error responses operations document, shared by every resource's routes."""

from __future__ import annotations

__all__ = [
    "BODY_ERRORS",
    "LIST_ERRORS",
    "NOT_MODIFIED",
    "forbidden",
    "not_found",
    "preconditions",
]

NOT_MODIFIED = {304: "Not modified since the ETag sent in If-None-Match."}
BODY_ERRORS = {400: "Malformed JSON.", 413: "Body too large.", 415: "Body is not JSON."}


def forbidden(scope: str) -> dict[int, str]:
    """The 403 of an operation that needs `scope`."""
    return {403: f"The key lacks the scope {scope}."}


def not_found(noun: str) -> dict[int, str]:
    """The 404 of an operation on one `noun` by id."""
    return {404: f"No {noun} has this id."}


def preconditions(noun: str) -> dict[int, str]:
    """The 412 and 428 of a write guarded by If-Match."""
    return {
        412: f"If-Match names an old ETag: someone changed the {noun} since you read it.",
        428: "If-Match is required by this server and was not sent.",
    }


# Input validation's 422 is documented by APIFlask (its schema); this says what lists add.
LIST_ERRORS = {
    422: "A parameter is invalid: an unknown sort field, `per_page` below 1, a `page` past the "
    "first 10,000 rows (`details[0].field` is `page`; follow `links.next`, which carries a "
    "cursor), or a `cursor` this list did not give out or gave out for another sort "
    "(`details[0].field` is `cursor`; start again without it)."
}
