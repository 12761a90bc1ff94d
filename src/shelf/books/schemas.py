"""Request and response shapes of the books API."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue
from pydantic_core import PydanticCustomError
from sqlalchemy import Row

from shelf.core.fields import Description, Patch, Text, WholeNumber
from shelf.core.pagination import PageQuery

__all__ = [
    "AUTHOR_SEPARATOR",
    "BookCreate",
    "BookOut",
    "BookOutV2",
    "BookQuery",
    "BookUpdate",
    "normalise_isbn",
]

ISBN_HINT = "Send an ISBN-10 or ISBN-13 with a valid check digit, e.g. 978-0-13-468599-1."


# Hyphens and spaces may stand anywhere; then ten characters (nine digits and a digit or X) or
# thirteen digits starting 978 or 979. The check digit is verified by `normalise_isbn`.
ISBN_FORM = r"[- ]*(?:(?:[0-9][- ]*){9}[0-9Xx]|9[- ]*7[- ]*[89](?:[- ]*[0-9]){10})[- ]*"
ISBN_PATTERN = f"^{ISBN_FORM}$"
ISBN_DESCRIPTION = (
    "ISBN-10 or ISBN-13, hyphens and spaces allowed; stored and returned as ISBN-13. The check "
    "digit must be right: for ISBN-13, the digits weighted 1, 3, 1, 3, ... sum to a multiple of "
    "10; for ISBN-10, weighted 10 down to 1 (X is 10), to a multiple of 11."
)


def _isbn13_check_digit(first12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def _isbn10_is_valid(isbn: str) -> bool:
    digits = [10 if ch == "X" else int(ch) for ch in isbn]
    return sum((10 - i) * d for i, d in enumerate(digits)) % 11 == 0


def normalise_isbn(value: str) -> str:
    """Return the ISBN-13 form of an ISBN-10 or ISBN-13, hyphens and spaces removed."""
    if re.fullmatch(ISBN_FORM, value):
        isbn = value.replace("-", "").replace(" ", "").upper()
        if len(isbn) == 10 and _isbn10_is_valid(isbn):
            return "978" + isbn[:9] + _isbn13_check_digit("978" + isbn[:9])
        if len(isbn) == 13 and _isbn13_check_digit(isbn[:12]) == isbn[12]:
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


Title = Annotated[str, Text(300), Field(description="1-300 characters.")]
AUTHOR_SEPARATOR = ";"  # between the authors of one book, in version 1's `author`
Author = Annotated[
    str,
    Text(200),
    Field(
        description="1-200 characters. Several authors are separated by semicolons "
        "(Brian W. Kernighan; Dennis M. Ritchie); version 2 lists them."
    ),
]
Words = Annotated[str, Text(200)]


def _up_to_this_year(schema: dict[str, JsonValue]) -> None:
    schema["maximum"] = datetime.now(UTC).year


Isbn = Annotated[
    str,
    Field(
        max_length=20,
        description=ISBN_DESCRIPTION,
        json_schema_extra={"pattern": ISBN_PATTERN, "format": "isbn"},
    ),
    AfterValidator(normalise_isbn),
]
Year = Annotated[
    int,
    Field(
        ge=-3000,
        description="Year of publication, not in the future.",
        json_schema_extra=_up_to_this_year,
    ),
    WholeNumber,
    AfterValidator(_not_in_future),
]
Copies = Annotated[
    int, Field(ge=0, le=1_000_000, description="Copies held, 0 or more."), WholeNumber
]

EXAMPLE: dict[str, JsonValue] = {
    "title": "Working Effectively with Legacy Code",
    "author": "Michael C. Feathers",
    "isbn": "978-0-13-117705-5",  # not a demo book (`make seed`): trying it out creates one
    "published_year": 2004,
    "description": "Changing code that has no tests, safely.",
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
    title: Patch[Title] = None
    author: Patch[Author] = None
    isbn: Isbn | None = None
    published_year: Year | None = None
    description: Patch[Description] = None
    copies: Patch[Copies] = None


class BookOut(BaseModel):
    """A book as the API shows it."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    **EXAMPLE,
                    "isbn": "9780131177055",
                    "available": 2,
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
    available: int = Field(description="Copies not on loan now: `copies` less those lent.")
    created_at: datetime
    updated_at: datetime


class BookOutV2(BaseModel):
    """A book as version 2 of the API shows it: its authors are a list."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "title": "The C Programming Language",
                    "authors": ["Brian W. Kernighan", "Dennis M. Ritchie"],
                    "isbn": "9780131103627",
                    "published_year": 1988,
                    "description": "",
                    "copies": 2,
                    "available": 1,
                    "created_at": "2026-01-01T12:00:00Z",
                    "updated_at": "2026-01-01T12:00:00Z",
                }
            ]
        },
    )

    id: int
    title: str
    authors: list[str] = Field(
        description="Each author, in order: version 1's `author`, split at its semicolons."
    )
    isbn: str | None
    published_year: int | None
    description: str
    copies: int
    available: int = Field(description="Copies not on loan now: `copies` less those lent.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, book: Row[Any]) -> BookOutV2:
        """Version 2's view of a stored book (a row of `books`): its other fields as stored."""
        authors = [name.strip() for name in book.author.split(AUTHOR_SEPARATOR) if name.strip()]
        return cls.model_validate({**book._mapping, "authors": authors or [book.author]})


class BookQuery(PageQuery):
    """List parameters: page, sort and filters."""

    sortable: ClassVar[tuple[str, ...]] = ("title", "author", "published_year", "created_at")

    author: Words | None = Field(None, description="Exact author.")
    published_year: int | None = Field(None, ge=-3000, le=9999, description="Exact year.")
    isbn: Isbn | None = None
    q: Words | None = Field(None, description="Case-insensitive substring of title or author.")
