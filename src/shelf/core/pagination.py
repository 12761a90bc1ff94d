"""Pagination and sorting shared by every list: query parameters, the page body and links.

A page's links are built from its validated query alone, relative to the request
(`?page=2&per_page=20`): they name only parameters the list knows, and no request header (a
forwarded host or prefix) can point them elsewhere, so a cached page suits every caller and
resolves against whatever URL the client used, behind any proxy prefix.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import ColumnElement, Connection, Row, Select, func, inspect, select
from sqlalchemy.orm import InstrumentedAttribute

__all__ = [
    "MAX_PER_PAGE",
    "Page",
    "PageLinks",
    "PageQuery",
    "link_header",
    "page_links",
    "paginate",
    "query_pairs",
]

MAX_PER_PAGE = 100
ItemT = TypeVar("ItemT")
RowT = TypeVar("RowT")


class PageQuery(BaseModel):
    """`page`, `per_page` and `sort`; subclasses add filters and set `sortable`."""

    model_config = ConfigDict(extra="ignore")
    sortable: ClassVar[tuple[str, ...]] = ()
    default_sort: ClassVar[str] = "id"

    page: int = Field(1, ge=1, le=1_000_000, description="Page number, from 1.")
    per_page: int = Field(
        20, ge=1, description=f"Items per page, 1 to {MAX_PER_PAGE}; larger values are clamped."
    )
    sort: str | None = Field(
        None,
        description="Comma-separated fields, `-` for descending, e.g. `-published_year,title`.",
    )

    @field_validator("per_page")
    @classmethod
    def _clamp(cls, value: int) -> int:
        return min(value, MAX_PER_PAGE)

    @field_validator("sort")
    @classmethod
    def _check_sort(cls, value: str | None) -> str | None:
        if value is None:
            return None
        fields = [part.strip() for part in value.split(",") if part.strip()]
        unknown = [f for f in fields if f.removeprefix("-") not in cls.sortable]
        if unknown or not fields:
            allowed = ", ".join(cls.sortable)
            raise PydanticCustomError(
                "sort_field",
                "cannot sort by {fields}",
                {"fields": ", ".join(unknown) or "nothing", "hint": f"Sort by any of: {allowed}."},
            )
        return ",".join(fields)

    def order_by(self, model: type) -> list[ColumnElement[Any]]:
        """ORDER BY clauses for the requested sort, ending with the primary key for stable pages."""
        clauses: list[ColumnElement[Any]] = []
        for field in (self.sort or self.default_sort).split(","):
            column: InstrumentedAttribute[Any] = getattr(model, field.removeprefix("-"))
            clauses.append(column.desc() if field.startswith("-") else column.asc())
        clauses.append(inspect(model).primary_key[0].asc())
        return clauses


class PageLinks(BaseModel):
    """Links to this and neighbouring pages, relative to the URL requested (resolve them
    against it: `?page=3&per_page=20`); null where there is none."""

    self: str
    first: str
    last: str
    prev: str | None = None
    next: str | None = None


def _page_example(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    (item,) = cls.__pydantic_generic_metadata__["args"] or (None,)
    item_examples = item.model_json_schema().get("examples", []) if item else []
    schema["examples"] = [
        {
            "items": item_examples[:1],
            "page": 2,
            "per_page": 1,
            "total": 3,
            "links": {
                "self": "?page=2&per_page=1",
                "first": "?page=1&per_page=1",
                "last": "?page=3&per_page=1",
                "prev": "?page=1&per_page=1",
                "next": "?page=3&per_page=1",
            },
        }
    ]


class Page(BaseModel, Generic[ItemT]):
    """One page of a list."""

    model_config = ConfigDict(json_schema_extra=_page_example)

    items: list[ItemT]
    page: int
    per_page: int
    total: int
    links: PageLinks

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        # OpenAPI component names may not contain brackets: Page[BookOut] becomes BookOutPage.
        return f"{params[0].__name__}Page"


def paginate(
    connection: Connection, statement: Select[Any], query: PageQuery
) -> tuple[list[Row[Any]], int]:
    """One page of `statement` as plain rows, and how many rows match in all."""
    total = connection.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    offset = (query.page - 1) * query.per_page
    rows = connection.execute(statement.limit(query.per_page).offset(offset)).all()
    return list(rows), total or 0


def query_pairs(query: BaseModel) -> list[tuple[str, str]]:
    """The parameters of a validated query that differ from their defaults, in field order.

    Two requests with the same pairs ask for the same answer, however they spelled it: unknown
    parameters, defaults, order and repeats are gone. A list value gives one pair per item.
    """
    pairs: list[tuple[str, str]] = []
    for name, value in query.model_dump(mode="json", by_alias=True, exclude_defaults=True).items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, str(item).lower() if isinstance(item, bool) else str(item)))
    return pairs


def page_links(query: PageQuery, total: int) -> PageLinks:
    """Links to the pages of the list `query` asks for, changing only `page`."""
    last = max(1, math.ceil(total / query.per_page))
    others = [pair for pair in query_pairs(query) if pair[0] not in ("page", "per_page")]

    def url(page: int) -> str:
        return "?" + urlencode([("page", page), ("per_page", query.per_page), *others])

    return PageLinks(
        self=url(query.page),
        first=url(1),
        last=url(last),
        prev=url(query.page - 1) if 1 < query.page <= last + 1 else None,
        next=url(query.page + 1) if query.page < last else None,
    )


def link_header(links: PageLinks) -> str:
    """The RFC 8288 Link header for a page's links."""
    relations = links.model_dump(exclude={"self"}, exclude_none=True)
    return ", ".join(f'<{url}>; rel="{rel}"' for rel, url in relations.items())
