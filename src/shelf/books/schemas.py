"""Request and response shapes of the books API."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue
from pydantic_core import PydanticCustomError

from shelf.core.fields import Description, NoControlCharacters, NotNull, trimmed
from shelf.core.pagination import PageQuery

__all__ = ["BookCreate", "BookOut", "BookQuery", "BookUpdate", "normalise_isbn"]

ISBN_HINT = "Send an ISBN-10 or ISBN-13 with a valid check digit, e.g. 978-0-13-468599-1."


def _isbn13_check_digit(first12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def _isbn10_is_valid(isbn: str) -> bool:
    digits = [10 if ch == "X" else int(ch) for ch in isbn]
    return sum((10 - i) * d for i, d in enumerate(digits)) % 11 == 0


def normalise_isbn(value: str) -> str:
    """Return the ISBN-13 form of an ISBN-10 or ISBN-13, hyphens and spaces removed."""
    isbn = value.replace("-", "").replace(" ", "").upper()
    if re.fullmatch(r"\d{9}[\dX]", isbn) and _isbn10_is_valid(isbn):
        return "978" + isbn[:9] + _isbn13_check_digit("978" + isbn[:9])
    if re.fullmatch(r"97[89]\d{10}", isbn) and _isbn13_check_digit(isbn[:12]) == isbn[12]:
        return isbn
    raise PydanticCustomError("isbn", "not a valid ISBN-10 or ISBN-13", {"hint": ISBN_HINT})


def _not_in_future(year: int) -> int:
    current = datetime.now(UTC).year
    if year > current:
        raise PydanticCustomError(
            "year_in_future",
            "the year {year} is in the future",
            {"year": year, "hint": f"Send a year no later than {current}."},
        )
    return year


Title = Annotated[str, trimmed(1, 300), NoControlCharacters, Field(description="1-300 characters.")]
Author = Annotated[
    str, trimmed(1, 200), NoControlCharacters, Field(description="1-200 characters.")
]
Isbn = Annotated[
    str,
    Field(max_length=20, description="ISBN-10 or ISBN-13; stored and returned as ISBN-13."),
    AfterValidator(normalise_isbn),
]
Year = Annotated[
    int,
    Field(ge=-3000, description="Year of publication, not in the future."),
    AfterValidator(_not_in_future),
]
Copies = Annotated[int, Field(ge=0, le=1_000_000, description="Copies held, 0 or more.")]

EXAMPLE: dict[str, JsonValue] = {
    "title": "The Pragmatic Programmer",
    "author": "David Thomas, Andrew Hunt",
    "isbn": "978-0-13-595705-9",
    "published_year": 2019,
    "description": "Your journey to mastery, 20th anniversary edition.",
    "copies": 3,
}


class BookCreate(BaseModel):
    """A new book, or the whole of a replaced one (PUT)."""

    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [EXAMPLE]}
    )

    title: Title
    author: Author
    isbn: Isbn | None = None
    published_year: Year | None = None
    description: Description = ""
    copies: Copies = 1


class BookUpdate(BaseModel):
    """Some fields of a book (PATCH): only what is sent changes."""

    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [{"copies": 5}]}
    )
    title: Annotated[Title | None, NotNull] = None
    author: Annotated[Author | None, NotNull] = None
    isbn: Isbn | None = None
    published_year: Year | None = None
    description: Annotated[Description | None, NotNull] = None
    copies: Annotated[Copies | None, NotNull] = None


class BookOut(BaseModel):
    """A book as the API shows it."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    **EXAMPLE,
                    "isbn": "9780135957059",
                    "created_at": "2026-01-01T12:00:00Z",
                    "updated_at": "2026-01-01T12:00:00Z",
                }
            ]
        },
    )

    id: int
    title: str
    author: str
    isbn: str | None
    published_year: int | None
    description: str
    copies: int
    created_at: datetime
    updated_at: datetime


class BookQuery(PageQuery):
    """List parameters: page, sort and filters."""

    sortable: ClassVar[tuple[str, ...]] = ("title", "author", "published_year", "created_at")

    author: Annotated[str, trimmed(1, 200), NoControlCharacters] | None = Field(
        None, description="Exact author."
    )
    published_year: int | None = Field(None, ge=-3000, le=9999, description="Exact year.")
    isbn: Isbn | None = None
    q: Annotated[str, trimmed(1, 200), NoControlCharacters] | None = Field(
        None, description="Case-insensitive substring of title or author."
    )
