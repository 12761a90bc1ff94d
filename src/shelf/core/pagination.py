"""Pagination and sorting shared by every list: query parameters, the page body and links.

`shelf.web.links` builds a page's links from the request being served.
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
]

MAX_PER_PAGE = 100
ItemT = TypeVar("ItemT")
RowT = TypeVar("RowT")


def _describe_sort(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    # The schema says what `_check_sort` accepts: no empty value, only the sortable fields.
    assert issubclass(cls, PageQuery)
    sort = schema["properties"]["sort"]
    sort.pop("anyOf", None)
    sort.pop("default", None)
    sort.update(type="string", pattern=f"^{cls.sort_form()}$")


class PageQuery(BaseModel):
    """`page`, `per_page` and `sort`; subclasses add filters and set `sortable`."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=_describe_sort)
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

    @classmethod
    def sort_form(cls) -> str:
        """What `sort` must match: sortable fields, each may start with `-`, between commas."""
        field = f"-?(?:{'|'.join(cls.sortable)})"
        return f" *{field} *(?:, *{field} *)*"

    @field_validator("sort")
    @classmethod
    def _check_sort(cls, value: str | None) -> str | None:
        if value is None:
            return None
        # Exactly `sort_form`: every part between commas, spaces aside, is a sortable field.
        fields = [part.strip(" ") for part in value.split(",")]
        unknown = [f or "an empty field" for f in fields if f.removeprefix("-") not in cls.sortable]
        if unknown:
            allowed = ", ".join(cls.sortable)
            raise PydanticCustomError(
                "sort_field",
                "cannot sort by {fields}",
                {"fields": ", ".join(unknown), "hint": f"Sort by any of: {allowed}."},
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
    """Relative links to this and neighbouring pages; absent where there is none."""

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
                "self": "/api/v1/items?page=2&per_page=1",
                "first": "/api/v1/items?page=1&per_page=1",
                "last": "/api/v1/items?page=3&per_page=1",
                "prev": "/api/v1/items?page=1&per_page=1",
                "next": "/api/v1/items?page=3&per_page=1",
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


def page_links(base: str, arguments: dict[str, str], query: PageQuery, total: int) -> PageLinks:
    """Links to `base` that keep the caller's `arguments` and change only `page`."""
    last = max(1, math.ceil(total / query.per_page))
    args = {**arguments, "per_page": str(query.per_page)}

    def url(page: int) -> str:
        return f"{base}?{urlencode({**args, 'page': str(page)})}"

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
