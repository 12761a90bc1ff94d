"""One page of a list, read from the database: the statement of each kind of page, built once.

A list's statement selects one model, its filters bound parameters (`params` holds their values).
The page statement adds the sort, LIMIT and OFFSET or a cursor's range, and the list's bounded
count (`shelf.core.counting`), all as parameters too: it is built once per kind of page, and
SQLAlchemy finds its compiled form without walking a new statement at every request.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, bindparam

from shelf.core import counting, keyset
from shelf.core.db import PLANNED_PER_VALUES
from shelf.core.pagination import MAX_DEPTH, Listing, PageQuery, invalid, query_pairs

__all__ = ["paginate"]

COUNTED = "counted_rows"  # the column of a page's rows that holds the list's bounded count


def paginate(
    connection: Connection,
    statement: Select[Any],
    params: dict[str, Any],
    query: PageQuery,
    *,
    scope: Sequence[tuple[str, str]] = (),
) -> Listing:
    """The page that `query` asks for of `statement`, a select of one model whose filters are
    parameters (`params` holds their values). `scope` names what, besides the query, picks the
    rows (a path's id: one user's loans), so that a remembered estimate is one list's alone.

    The statements of each kind of page are built once (`_page_statements`); the request's values
    are bound when it runs, so SQLAlchemy finds its compiled form without walking it again.
    """
    keys = keyset.sort_keys(_model(statement), query.ordering)
    pairs = query_pairs(query)
    filters = [*scope, *(p for p in pairs if p[0] not in ("page", "per_page", "cursor", "sort"))]
    estimate = counting.remembered(connection, statement, filters)
    counts = estimate is None  # then the page's statement counts the list too: one round trip
    counted, indexed = None, True
    if counts and _is_search(connection, statement):
        # How many a search matches decides how to read them, and the planner cannot know it
        # (its guess for `%term%` is the same for a term in one title as for one in half of
        # them). A few: find them all through the search index and sort them (~1 ms); walking
        # the sort's index instead read all 1,000,000 books to find one (1.6 s). Many: the
        # walk finds a page of them at once. So a search counts first, in a round trip of its own.
        counted, counts = counting.count_bounded(connection, statement, params), False
        indexed = counted > counting.COUNT_LIMIT
    wanted = query.per_page + 1  # one more than shown tells whether there is a next page
    if query.cursor is None:
        offset = (query.page - 1) * query.per_page
        _check_depth(offset, query)
        page = query.page
        (paged,) = _page_statements(statement, query.ordering, counts, None, indexed)
        values = {**params, "page_limit": wanted, "page_offset": offset}
        rows = list(connection.execute(paged, values).all())
    else:
        if "page" in query.model_fields_set:
            raise invalid("page", "cannot be sent with a cursor", "Send either page or cursor.")
        after, page = keyset.decode_cursor(query.cursor, keys, query.ordering)
        nulls = tuple(value is None for value in after)
        values = {**params, **keyset.bound_values(after)}
        rows = []
        for paged in _page_statements(statement, query.ordering, counts, nulls, indexed):
            rows += connection.execute(paged, {**values, "page_limit": wanted - len(rows)}).all()
            if len(rows) == wanted:
                break
    more = len(rows) > query.per_page
    del rows[query.per_page :]
    next_cursor = keyset.cursor_of(rows[-1], keys, query.ordering, page + 1) if more else None
    if estimate is not None:
        return Listing(rows, estimate, False, page, next_cursor)
    if query.cursor is None and not more and (rows or query.page == 1):
        # The last page by number: what it shows, and what came before, is every row.
        return Listing(rows, offset + len(rows), True, page, next_cursor)
    if counts:
        counted = rows[0]._mapping[COUNTED] if rows else None
    total, exact = counting.total(connection, statement, params, filters, counted)
    return Listing(rows, total, exact, page, next_cursor)


@functools.lru_cache(maxsize=256)
def _model(statement: Select[Any]) -> type:
    """The model `statement` selects (SQLAlchemy works it out anew each time it is asked)."""
    model: type = statement.column_descriptions[0]["entity"]
    return model


@functools.lru_cache(maxsize=1024)  # per list, filters, sort and kind of cursor: a few hundred
def _page_statements(
    statement: Select[Any],
    sort: str,
    counts: bool,
    nulls: tuple[bool, ...] | None,
    indexed: bool = True,
) -> tuple[Select[Any], ...]:
    """The statements, read in turn, of a page of `statement` in the order of `sort`, LIMIT
    `:page_limit`: from `:page_offset` when `nulls` is None (one statement), else after a
    cursor whose NULL values `nulls` marks (one per clause of `keyset.after`); with the list's
    bounded count when `counts`; sorted through no index unless `indexed`."""
    keys = keyset.sort_keys(_model(statement), sort)
    ordered = statement.order_by(*keyset.order_by(keys, indexed=indexed))
    paged = ordered.limit(bindparam("page_limit"))
    if counts:
        paged = paged.add_columns(counting.bounded_count(statement).label(COUNTED))
    if nulls is None:
        return (paged.offset(bindparam("page_offset")),)
    return tuple(paged.where(clause) for clause in keyset.after(keys, nulls))


def _is_search(connection: Connection, statement: Select[Any]) -> bool:
    """Whether `statement` is planned per values (`PLANNED_PER_VALUES`: how many rows it gives
    depends on the values sent), on PostgreSQL, whose planner chooses how to read them."""
    options = statement.get_execution_options()
    return bool(options.get(PLANNED_PER_VALUES)) and connection.dialect.name == "postgresql"


def _check_depth(offset: int, query: PageQuery) -> None:
    if offset >= MAX_DEPTH:
        deepest = math.ceil(MAX_DEPTH / query.per_page)
        raise invalid(
            "page",
            f"page {query.page} starts past the first {MAX_DEPTH:,} rows that page numbers reach",
            f"With per_page={query.per_page}, pages go up to {deepest}; to read further, "
            "follow links.next from any page: it carries a cursor.",
        )
