"""Links in response bodies and headers, built from the request being served."""

from __future__ import annotations

from flask import request
from pydantic import BaseModel

from shelf.core.pagination import Listing, Page, PageQuery, link_header, page_links

__all__ = ["make_page"]


def make_page(
    schema: type[BaseModel], listing: Listing, query: PageQuery
) -> tuple[Page[BaseModel], dict[str, str]]:
    """The page body for `listing` shown as `schema`, and its Link header."""
    links = page_links(
        f"{request.script_root}{request.path}", request.args.to_dict(), query, listing
    )
    page = Page[schema](  # type: ignore[valid-type]
        items=[schema.model_validate(row, from_attributes=True) for row in listing.rows],
        page=listing.page,
        per_page=query.per_page,
        total=listing.total,
        total_exact=listing.total_exact,
        links=links,
    )
    return page, {"Link": link_header(links)}
