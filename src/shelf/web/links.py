"""Page bodies and their Link header, built from the validated query alone.

The links are relative to the request (see `shelf.core.pagination`): nothing of the request
but its validated query reaches them, so a cached page is the same for every caller.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from shelf.core.pagination import Page, PageQuery, link_header, page_links

__all__ = ["make_page"]

RowT = TypeVar("RowT")


def make_page(
    schema: type[BaseModel], rows: list[RowT], total: int, query: PageQuery
) -> tuple[Page[BaseModel], dict[str, str]]:
    """The page body for `rows` shown as `schema`, and its Link header."""
    links = page_links(query, total)
    page = Page[schema](  # type: ignore[valid-type]
        items=[schema.model_validate(row, from_attributes=True) for row in rows],
        page=query.page,
        per_page=query.per_page,
        total=total,
        links=links,
    )
    return page, {"Link": link_header(links)}
