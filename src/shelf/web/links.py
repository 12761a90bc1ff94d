"""Page bodies and their Link header, built from the validated query alone.

The links are relative to the request (see `shelf.core.pagination`): nothing of the request
but its validated query reaches them, so a cached page is the same for every caller.

A page's rows come from the database, whose columns already hold what the item schema says, so
they are written to JSON as they are, not validated field by field on the way out (for 20
books, ~100 us of a ~850 us request). The body is the one `Page[schema]` gives: each field of
the schema from the row's column of that name (the schema is flat, and names only columns),
timestamps in RFC 3339 with `Z` for UTC, as pydantic writes them. The views still declare
`Page[schema]`, which OpenAPI shows; `tests/contract/` checks every list body against it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from operator import itemgetter
from typing import Any

import orjson
from flask import Response, current_app
from pydantic import BaseModel

from shelf.core.pagination import Listing, PageQuery, link_header, page_links

__all__ = ["make_page"]


def make_page(
    schema: type[BaseModel],
    listing: Listing,
    query: PageQuery,
    *,
    shape: Callable[[Any], BaseModel] | None = None,
) -> Response:
    """The page of `listing`, its items shown as `schema`, with its Link header.

    `shape` builds an item from a row where the schema is not the row's columns as they are (a
    list stored as text, a field computed from others); it is validated then, row by row.
    """
    links = page_links(query, listing)
    if shape is None:
        names, values = _fields(schema)
        items = [dict(zip(names, values(row._mapping), strict=True)) for row in listing.rows]
    else:
        items = [shape(row).model_dump(mode="json") for row in listing.rows]
    body = {
        "items": items,
        "page": listing.page,
        "per_page": query.per_page,
        "total": listing.total,
        "total_exact": listing.total_exact,
        "links": links.model_dump(),
    }
    return current_app.response_class(
        orjson.dumps(body, option=orjson.OPT_UTC_Z),
        mimetype="application/json",
        headers={"Link": link_header(links)},
    )


@functools.cache
def _fields(schema: type[BaseModel]) -> tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]:
    """The names of `schema`'s fields, and a function reading them, in order, from a row."""
    names = tuple(schema.model_fields)
    read = itemgetter(*names)
    return names, read if len(names) > 1 else lambda row: (read(row),)
