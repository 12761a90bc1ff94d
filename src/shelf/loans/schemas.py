"""Request and response shapes of the loans API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shelf.core.fields import WholeNumber
from shelf.core.pagination import PageQuery

__all__ = ["DEFAULT_DAYS", "MAX_DAYS", "LoanCreate", "LoanOut", "LoanQuery"]

DEFAULT_DAYS, MAX_DAYS = 14, 60
ID_LIMIT = 2**31 - 1  # an INTEGER column's range: a larger id names no book

BookId = Annotated[
    int, Field(ge=1, le=ID_LIMIT, description="The book to borrow, by its id."), WholeNumber
]
Days = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_DAYS,
        description=f"How long the loan runs, 1 to {MAX_DAYS} days; {DEFAULT_DAYS} if not sent.",
    ),
    WholeNumber,
]


class LoanCreate(BaseModel):
    """A new loan: which book, and for how many days."""

    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [{"book_id": 1, "days": 21}]}
    )

    book_id: BookId
    days: Days = DEFAULT_DAYS


class LoanOut(BaseModel):
    """A loan as the API shows it; `overdue` is true while it is active past its due time."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "user_id": 3,
                    "book_id": 1,
                    "borrowed_at": "2026-01-01T12:00:00Z",
                    "due_at": "2026-01-15T12:00:00Z",
                    "returned_at": None,
                    "overdue": False,
                }
            ]
        },
    )

    id: int
    user_id: int
    book_id: int
    borrowed_at: datetime
    due_at: datetime
    returned_at: datetime | None = Field(description="When it came back; null while active.")
    overdue: bool

    @classmethod
    def of(cls, loan: Any, *, now: datetime) -> LoanOut:
        """A stored loan (a `Loan` or a row of `loans`) as shown at the time `now`."""
        return cls(
            id=loan.id,
            user_id=loan.user_id,
            book_id=loan.book_id,
            borrowed_at=loan.borrowed_at,
            due_at=loan.due_at,
            returned_at=loan.returned_at,
            overdue=loan.returned_at is None and loan.due_at < now,
        )


class LoanQuery(PageQuery):
    """List parameters: page, sort and the `active` and `overdue` filters."""

    sortable: ClassVar[tuple[str, ...]] = ("borrowed_at", "due_at")

    active: bool | None = Field(
        None, description="true: only loans not returned yet; false: only returned ones."
    )
    overdue: bool | None = Field(
        None,
        description="true: only active loans past their due time; false: every other loan.",
    )
