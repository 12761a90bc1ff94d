"""Field types and validators shared by every schema."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

__all__ = ["Description", "NoControlCharacters", "NotNull", "trimmed"]

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


Description = Annotated[
    str, trimmed(0, 5000), NoControlCharacters, Field(description="Up to 5,000 characters.")
]
