"""Pagination and sorting shared by every list: query parameters, the page body and links.

Page numbers reach the first MAX_DEPTH rows (an OFFSET costs the rows it skips); every page's
`links.next` carries a cursor (`shelf.core.keyset`), so walking on costs what page one costs.
`total` is counted exactly up to COUNT_LIMIT rows; past that, PostgreSQL's estimate is given
and `total_exact` is false. The database side, the statements that read a page, is
`shelf.core.page_reads`.

A page's links are built from its validated query alone, relative to the request
(`?page=2&per_page=20`): they name only parameters the list knows, and no request header (a
forwarded host or prefix) can point them elsewhere, so a cached page suits every caller and
resolves against whatever URL the client used, behind any proxy prefix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import quote_plus, urlencode

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import Row

from shelf.core.counting import COUNT_LIMIT
from shelf.core.errors import ValidationFailedError

__all__ = [
    "COUNT_LIMIT",
    "MAX_DEPTH",
    "MAX_PER_PAGE",
    "Listing",
    "Page",
    "PageLinks",
    "PageQuery",
    "contains",
    "invalid",
    "link_header",
    "page_links",
    "query_pairs",
]

MAX_PER_PAGE = 100
MAX_DEPTH = 10_000  # rows that page numbers reach: OFFSET reads and drops every row it skips
ItemT = TypeVar("ItemT")


def _describe_sort(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    # The schema says what `_check_sort` accepts: no empty value, only the sortable fields.
    assert issubclass(cls, PageQuery)
    sort = schema["properties"]["sort"]
    sort.pop("anyOf", None)
    sort.pop("default", None)
    sort.update(type="string", pattern=f"^{cls.sort_form()}$")


class PageQuery(BaseModel):
    """`page` or `cursor`, `per_page` and `sort`; subclasses add filters and set `sortable`."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=_describe_sort)
    sortable: ClassVar[tuple[str, ...]] = ()
    default_sort: ClassVar[str] = "id"

    page: int = Field(
        1,
        ge=1,
        le=1_000_000,
        description=f"Page number, from 1, for the first {MAX_DEPTH:,} rows; deeper, follow "
        "`links.next`, which carries a `cursor`.",
    )
    per_page: int = Field(
        20, ge=1, description=f"Items per page, 1 to {MAX_PER_PAGE}; larger values are clamped."
    )
    sort: str | None = Field(
        None,
        description="Comma-separated fields, `-` for descending, e.g. `-published_year,title`.",
    )
    cursor: str | None = Field(
        None,
        min_length=1,
        max_length=1024,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Where the page starts: the opaque value `links.next` of the previous page "
        "carries. Keep the other parameters as they were; do not send `page` with it.",
        examples=["eyJzIjoidGl0bGUiLCJwIjoyLCJrIjpbIkR1bmUiLDQyXX0"],
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

    @property
    def ordering(self) -> str:
        """The sort in force: the requested one, or the list's default."""
        return self.sort or self.default_sort


class PageLinks(BaseModel):
    """Links to this and neighbouring pages, relative to the URL requested (resolve them
    against it: `?page=3&per_page=20`); absent where there is none.

    `next` carries a cursor; `last` is absent when the total is an estimate or the last page
    lies deeper than page numbers reach, and `prev` on a page reached by cursor.
    """

    self: str
    first: str
    last: str | None = None
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
            "total_exact": True,
            "links": {
                "self": "?page=2&per_page=1",
                "first": "?page=1&per_page=1",
                "last": "?page=3&per_page=1",
                "prev": "?page=1&per_page=1",
                "next": "?cursor=eyJzIjoiaWQiLCJwIjozLCJrIjpbMl19&per_page=1",
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
    total_exact: bool = Field(
        True,
        description=f"False when more than {COUNT_LIMIT:,} rows match: `total` is then an "
        "estimate (PostgreSQL's planner), and `links.last` is absent.",
    )
    links: PageLinks

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        # OpenAPI component names may not contain brackets: Page[BookOut] becomes BookOutPage.
        return f"{params[0].__name__}Page"


@dataclass(frozen=True, slots=True)
class Listing:
    """One page of rows, how many match in all, and the cursor of the page after it."""

    rows: list[Row[Any]]
    total: int
    total_exact: bool
    page: int
    next_cursor: str | None


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


def invalid(field: str, issue: str, hint: str) -> ValidationFailedError:
    return ValidationFailedError(
        f"The {field} parameter cannot be used.",
        details=[{"field": field, "issue": issue, "hint": hint}],
    )


def page_links(query: PageQuery, listing: Listing) -> PageLinks:
    """Links to the pages of the list `query` asks for, changing only `page` or `cursor`."""
    others = [pair for pair in query_pairs(query) if pair[0] not in ("page", "per_page", "cursor")]
    rest = urlencode([("per_page", query.per_page), *others])  # the same in every link

    def url(where: str, value: object) -> str:
        return f"?{where}={quote_plus(str(value))}&{rest}"

    pages = max(1, math.ceil(listing.total / query.per_page))
    last = pages if listing.total_exact and (pages - 1) * query.per_page < MAX_DEPTH else None
    by_number = query.cursor is None
    return PageLinks(
        self=url("page", query.page) if by_number else url("cursor", query.cursor),
        first=url("page", 1),
        last=url("page", last) if last else None,
        prev=url("page", query.page - 1) if by_number and 1 < query.page <= pages + 1 else None,
        next=url("cursor", listing.next_cursor) if listing.next_cursor else None,
    )


def contains(text: str) -> str:
    """An ILIKE pattern (escape character `\\`) matching `text` anywhere, wildcards literal.

    ILIKE rather than lower() LIKE: PostgreSQL's trigram indexes serve ILIKE on the column.
    """
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def link_header(links: PageLinks) -> str:
    """The RFC 8288 Link header for a page's links."""
    relations = links.model_dump(exclude={"self"}, exclude_none=True)
    return ", ".join(f'<{url}>; rel="{rel}"' for rel, url in relations.items())
