"""Request and response shapes of the templates API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue
from pydantic_core import PydanticCustomError

from shelf.core.fields import Description, Patch, Text
from shelf.core.pagination import PageQuery

__all__ = ["MAX_CONTENT", "TemplateCreate", "TemplateOut", "TemplateQuery", "TemplateUpdate"]

MAX_CONTENT = 102_400  # 100 KB of text

Name = Annotated[str, Text(200), Field(description="1-200 characters.")]


def _at_most_max_content_bytes(value: str) -> str:
    # The limit is on storage, so on UTF-8 bytes: 102,400 emoji would be 400 KB.
    if len(value.encode("utf-8", "surrogatepass")) > MAX_CONTENT:
        raise PydanticCustomError(
            "content_too_large",
            "is larger than {limit} bytes of UTF-8",
            {"limit": MAX_CONTENT, "hint": f"Send at most {MAX_CONTENT:,} bytes of text."},
        )
    return value


# Not trimmed: leading and trailing whitespace can be part of a template's output.
Content = Annotated[
    str,
    Text(MAX_CONTENT, blank=True, trim=False),
    AfterValidator(_at_most_max_content_bytes),
    Field(description=f"The template text, up to {MAX_CONTENT:,} bytes of UTF-8."),
]

EXAMPLE: dict[str, JsonValue] = {
    "name": "Overdue reminder",
    "description": "Sent when a loan is a week overdue.",
    "content": "Dear {{ member }},\n\n{{ title }} was due back on {{ due_date }}.\n",
}


class TemplateCreate(BaseModel):
    """A new template, or the whole of a replaced one (PUT)."""

    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [EXAMPLE]}
    )

    name: Name
    description: Description = ""
    content: Content = ""


class TemplateUpdate(BaseModel):
    """Some fields of a template (PATCH): only what is sent changes."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"description": "Sent a week after the due date."}]},
    )

    name: Patch[Name] = None
    description: Patch[Description] = None
    content: Patch[Content] = None


class TemplateOut(BaseModel):
    """A template as the API shows it."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "templateid": "3f2b8c1e-6d4a-4b7e-9c0d-2a1e5f8b7c64",
                    **EXAMPLE,
                    "created": "2026-01-01T12:00:00Z",
                    "modified": "2026-01-02T09:30:00Z",
                }
            ]
        },
    )

    templateid: uuid.UUID
    name: str
    description: str
    content: str
    created: datetime
    modified: datetime


class TemplateQuery(PageQuery):
    """List parameters: page, sort and the name filter."""

    sortable: ClassVar[tuple[str, ...]] = ("name", "created", "modified")
    default_sort: ClassVar[str] = "created"

    q: Annotated[str, Text(200)] | None = Field(
        None, description="Case-insensitive substring of the name."
    )
