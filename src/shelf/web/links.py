"""Page bodies and their Link header, built from the validated query alone.

The links are relative to the request (see `shelf.core.pagination`): nothing of the request
but its validated query reaches them, so a cached page is the same for every caller.
"""

from __future__ import annotations

from pydantic import BaseModel

from shelf.core.pagination import Listing, Page, PageQuery, link_header, page_links

__all__ = ["make_page"]


def make_page(
    schema: type[BaseModel], listing: Listing, query: PageQuery
) -> tuple[Page[BaseModel], dict[str, str]]:
    """The page body for `listing` shown as `schema`, and its Link header."""
    links = page_links(query, listing)
    # One validation of the whole page, its rows read by attribute: one call into pydantic's
    # core, not one per row.
    page = Page[schema].model_validate(  # type: ignore[valid-type]
        {
            "items": listing.rows,
            "page": listing.page,
            "per_page": query.per_page,
            "total": listing.total,
            "total_exact": listing.total_exact,
            "links": links,
        },
        from_attributes=True,
    )
    return page, {"Link": link_header(links)}
