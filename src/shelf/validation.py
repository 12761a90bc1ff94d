"""Shared validation building blocks and the translation of pydantic errors into problem details."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import AfterValidator, BeforeValidator, StringConstraints
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

if TYPE_CHECKING:
    from shelf.errors import Detail

__all__ = ["HINTS", "NoControlCharacters", "NotNull", "details_from_pydantic", "trimmed"]

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


# C0 controls but tab, newline and carriage return; DEL; C1 controls.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _no_control_characters(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and no field here has a use for control characters.
    if CONTROL_CHARACTERS.search(value):
        raise PydanticCustomError(
            "control_characters",
            "contains control characters",
            {"hint": "Remove control characters such as NUL from the text."},
        )
    return value


NoControlCharacters = AfterValidator(_no_control_characters)


def _reject_null(value: Any) -> Any:
    if value is None:
        raise PydanticCustomError(
            "null_not_allowed",
            "cannot be null",
            {"hint": "Send a value for this field, or leave it out."},
        )
    return value


# For PATCH fields that may be left out but not set to null: the default is not validated.
NotNull = BeforeValidator(_reject_null)


def trimmed(min_length: int = 0, max_length: int | None = None) -> StringConstraints:
    """Length limits on a string with surrounding whitespace removed."""
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


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
