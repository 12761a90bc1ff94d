"""Field types and validators shared by every schema.

What the server checks, the OpenAPI document says: a text field carries a `pattern` that
excludes control characters (and, where it may not be blank, requires a character other than
whitespace); a PATCH field that refuses null is not nullable in the schema; an integer field
takes 2019.0 as JSON Schema does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, cast

from pydantic import BeforeValidator, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

__all__ = [
    "CONTROL_CHARACTERS",
    "NON_BLANK_PATTERN",
    "TEXT_PATTERN",
    "Description",
    "Patch",
    "Text",
    "WholeNumber",
]

# C0 controls but tab, newline and carriage return; DEL; C1 controls. Written as escapes that
# Python's `re` and JSON Schema's (ECMA-262) regular expressions read alike.
CONTROLS = r"\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F"
# What trimming removes (Unicode White_Space), less the controls refused before it.
SPACES = r"\t\n\r \xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
CONTROL_CHARACTERS = re.compile(f"[{CONTROLS}]")
TEXT_PATTERN = f"^[^{CONTROLS}]*$"
NON_BLANK_PATTERN = f"^[^{CONTROLS}]*[^{CONTROLS}{SPACES}][^{CONTROLS}]*$"

T = TypeVar("T")


def _no_control_characters(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and no field here has a use for control characters.
    if CONTROL_CHARACTERS.search(value):
        raise PydanticCustomError(
            "control_characters",
            "contains control characters",
            {"hint": "Remove control characters such as NUL from the text."},
        )
    return value


@dataclass(frozen=True)
class Text:
    """A string of at most `max_length` characters as sent, without control characters.

    Surrounding whitespace is removed unless `trim` is false; unless `blank`, what remains
    must not be empty. The schema says so with `maxLength` and a `pattern`.
    """

    max_length: int
    blank: bool = False
    trim: bool = True

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        # The length is checked as sent, before trimming, as the schema's maxLength says.
        constrained = cast(
            core_schema.CoreSchema, {**handler(source), "max_length": self.max_length}
        )
        return core_schema.no_info_after_validator_function(self._check, constrained)

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        json_schema = handler(schema)
        json_schema["pattern"] = TEXT_PATTERN if self.blank else NON_BLANK_PATTERN
        return json_schema

    def _check(self, value: str) -> str:
        _no_control_characters(value)
        trimmed = value.strip() if self.trim or not self.blank else value
        if not trimmed and not self.blank:
            raise PydanticCustomError(
                "blank",
                "is empty or only whitespace",
                {"hint": "Send at least one character other than whitespace."},
            )
        return trimmed


def _integral_float_to_int(value: Any) -> Any:
    # JSON has one number type: 2019.0 is the number 2019, an integer to JSON Schema too.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# On an integer field: a number with no fraction is accepted, written either way.
WholeNumber = BeforeValidator(_integral_float_to_int)


def _reject_null(value: Any) -> Any:
    if value is None:
        raise PydanticCustomError(
            "null_not_allowed",
            "cannot be null",
            {"hint": "Send a value for this field, or leave it out."},
        )
    return value


def _not_nullable(schema: dict[str, Any]) -> None:
    schema.pop("default", None)
    branches = [branch for branch in schema.pop("anyOf", []) if branch != {"type": "null"}]
    if len(branches) == 1:
        schema.update(branches[0])
    elif branches:
        schema["anyOf"] = branches


# A PATCH field that may be left out but not set to null (its default, None, is not validated):
# the schema shows neither null nor that default.
Patch = Annotated[
    T | None,
    BeforeValidator(_reject_null),
    Field(json_schema_extra=_not_nullable),
]

Description = Annotated[str, Text(5000, blank=True), Field(description="Up to 5,000 characters.")]
