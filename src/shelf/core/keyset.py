"""Keyset (cursor) paging: the sort a list is read in, its cursors, and where a page starts.

A cursor names the last row of a page by its sort values and primary key; the next page is the
rows after it in sort order, read from the sort's index as a range, so page 50,000 costs what
page 1 costs. A cursor is URL-safe base64 of JSON `{"s": sort, "p": page, "k": [values, id]}`;
clients treat it as opaque. Anything that does not decode to values of the sort's columns is a
422 saying to restart from the first page.

NULLs (only `published_year` may be NULL) sort as PostgreSQL's indexes keep them: last going
up, first going down, on both backends.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Row,
    and_,
    bindparam,
    false,
    func,
    inspect,
    or_,
)
from sqlalchemy.orm import InstrumentedAttribute

from shelf.core.errors import ValidationFailedError

__all__ = [
    "SortKey",
    "after",
    "bound_values",
    "cursor_of",
    "decode_cursor",
    "order_by",
    "sort_keys",
]

MAX_INT = 2**31 - 1  # the range of an INTEGER column in PostgreSQL
MAX_TEXT = 300  # the longest text column a list sorts by
RESTART = "Follow links.next of a page, or drop `cursor` to start again from the first page."


@dataclass(frozen=True, slots=True)
class SortKey:
    """One column of a list's order: which, which way, and what its values are."""

    column: InstrumentedAttribute[Any]
    descending: bool
    nullable: bool
    kind: type

    def clause(self, *, indexed: bool = True) -> ColumnElement[Any]:
        """The ORDER BY clause; NULLs where PostgreSQL's index keeps them. Not `indexed`: the
        same order through an expression no index serves, so that the planner sorts the rows
        it finds rather than walking the sort's index to find them."""
        value = self.column if indexed else func.coalesce(self.column, self.column)
        ordered = value.desc() if self.descending else value.asc()
        if not self.nullable:  # no NULLS clause: SQLite reads an index only without one
            return ordered
        return ordered.nulls_first() if self.descending else ordered.nulls_last()


@functools.lru_cache(maxsize=256)  # the sorts clients ask for; a validated sort names fields
def sort_keys(model: type, sort: str) -> tuple[SortKey, ...]:
    """The keys of `sort` (`-year,title`) on `model`, then its primary key in the first's way."""
    keys = []
    for field in sort.split(","):
        column: InstrumentedAttribute[Any] = getattr(model, field.removeprefix("-"))
        keys.append(_key(column, field.startswith("-")))
    # The key follows the first field's direction, so a one-field sort is one index range,
    # read backwards when descending.
    primary: InstrumentedAttribute[Any] = getattr(model, inspect(model).primary_key[0].key)
    return (*keys, _key(primary, keys[0].descending))


def _key(column: InstrumentedAttribute[Any], descending: bool) -> SortKey:
    kind = column.type.python_type
    return SortKey(column, descending, bool(column.nullable), kind)


def order_by(keys: Sequence[SortKey], *, indexed: bool = True) -> list[ColumnElement[Any]]:
    """ORDER BY clauses for `keys` (`SortKey.clause`)."""
    return [key.clause(indexed=indexed) for key in keys]


def cursor_of(row: Row[Any], keys: Sequence[SortKey], sort: str, page: int) -> str:
    """The cursor naming `row` as the last of page `page - 1`, for a walk sorted by `sort`."""
    values = [_to_json(getattr(row, key.column.key)) for key in keys]
    raw = json.dumps({"s": sort, "p": page, "k": values}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, keys: Sequence[SortKey], sort: str) -> tuple[list[Any], int]:
    """The sort values and page number `cursor` holds, or a 422 saying how to go on."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        walked, values, page = data["s"], data["k"], data["p"]
        if type(walked) is not str:
            raise ValueError
        if walked != sort:
            raise _invalid(
                f"this cursor walks the list sorted by {walked!r}, not {sort!r}",
                f"Send the cursor with sort={walked}, or drop it to start again.",
            )
        if type(page) is not int or not 1 < page <= MAX_INT or len(values) != len(keys):
            raise ValueError
        return [_from_json(value, key) for value, key in zip(values, keys, strict=True)], page
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise _invalid("is not a cursor this list gave out", RESTART) from error


def after(keys: Sequence[SortKey], nulls: tuple[bool, ...]) -> list[ColumnElement[bool]]:
    """WHERE clauses, to be read in turn, for the rows after a cursor in the order of `keys`.

    The cursor's values are parameters (`bound_values`); `nulls` says which of them are NULL,
    which shapes the clauses. Each clause bounds the first column as an index range
    (`title >= :v`), so PostgreSQL scans the sort's index from the cursor on. Going up from a
    value, the rows with a NULL first column come after all values: they are a second range,
    read when the first runs out.
    """
    rest = _beyond(keys, nulls)
    lead, value = keys[0], _value(0, nulls)
    column = lead.column
    if value is None and lead.descending:  # among the leading NULLs, then every value
        return [and_(column.is_(None), rest), column.is_not(None)]
    if value is None:  # among the trailing NULLs
        return [and_(column.is_(None), rest)]
    bound = column <= value if lead.descending else column >= value
    if lead.nullable and not lead.descending:
        return [and_(bound, rest), column.is_(None)]
    return [and_(bound, rest)]


def bound_values(values: list[Any]) -> dict[str, Any]:
    """The parameters of `after`'s clauses for a cursor's values."""
    return {f"after_{n}": value for n, value in enumerate(values) if value is not None}


def _value(n: int, nulls: tuple[bool, ...]) -> BindParameter[Any] | None:
    return None if nulls[n] else bindparam(f"after_{n}")


def _beyond(keys: Sequence[SortKey], nulls: tuple[bool, ...]) -> ColumnElement[bool]:
    """Rows strictly after the cursor: later in the first key, or equal there and later after."""
    clause: ColumnElement[bool] = false()
    for n in reversed(range(len(keys))):
        key, value = keys[n], _value(n, nulls)
        later, same = _later(key, value), _same(key, value)
        clause = or_(later, and_(same, clause))
    return clause


def _later(key: SortKey, value: BindParameter[Any] | None) -> ColumnElement[bool]:
    column = key.column
    if value is None:  # NULLs are last going up, first going down
        return column.is_not(None) if key.descending else false()
    beyond = column < value if key.descending else column > value
    return or_(beyond, column.is_(None)) if key.nullable and not key.descending else beyond


def _same(key: SortKey, value: BindParameter[Any] | None) -> ColumnElement[bool]:
    return key.column.is_(None) if value is None else key.column == value


def _to_json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _from_json(value: Any, key: SortKey) -> Any:
    """`value` as a value of `key`'s column, or ValueError: nothing else reaches the database."""
    if value is None and key.nullable:
        return None
    if key.kind is int and type(value) is int and -MAX_INT <= value <= MAX_INT:
        return value
    if key.kind is str and type(value) is str and len(value) <= MAX_TEXT:
        value.encode("utf-8")  # a lone surrogate cannot be sent: UnicodeEncodeError
        if "\x00" not in value:
            return value
    if key.kind is datetime and type(value) is str:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            try:  # in UTC now, not when bound: year 1 at +01:00 is before year 1 in UTC
                return moment.astimezone(UTC)
            except OverflowError as error:
                raise ValueError(f"not a value of {key.column.key}") from error
    raise ValueError(f"not a value of {key.column.key}")


def _invalid(issue: str, hint: str) -> ValidationFailedError:
    return ValidationFailedError(
        "The cursor cannot be used.", details=[{"field": "cursor", "issue": issue, "hint": hint}]
    )
