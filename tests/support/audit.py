"""The audit log read back for tests: what an app recorded, and what a block of code made it
record. Any resource's tests can assert their records with these:

    with recorded(app) as records:
        response = client.post("/api/v1/books", json=new_book())
    assert [r["action"] for r in records] == ["book.create"]
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from apiflask import APIFlask
from sqlalchemy import func, select

from shelf.audit.models import AuditRecord
from shelf.extensions import db

__all__ = ["audit_actions", "audit_records", "containing", "recorded"]

Record = dict[str, Any]


def audit_records(app: APIFlask, *, after: int = 0, **columns: object) -> list[Record]:
    """The app's audit records, oldest first, as dicts of their columns; those after the id
    `after`, whose `columns` have the values given (`action="book.create"`)."""
    statement = select(AuditRecord).where(AuditRecord.id > after).filter_by(**columns)
    with app.app_context(), db.reads.connect() as connection:
        rows = connection.execute(statement.order_by(AuditRecord.id)).mappings()
        return [dict(row) for row in rows]


def audit_actions(app: APIFlask, **columns: object) -> list[str]:
    """The actions of the app's audit records, oldest first (`audit_records`' filters)."""
    return [record["action"] for record in audit_records(app, **columns)]


@contextmanager
def recorded(app: APIFlask) -> Iterator[list[Record]]:
    """The records written while the block runs, oldest first (filled in when it ends)."""
    with app.app_context(), db.reads.connect() as connection:
        last = connection.scalar(select(func.coalesce(func.max(AuditRecord.id), 0)))
    written: list[Record] = []
    yield written
    written.extend(audit_records(app, after=int(last or 0)))


def containing(app: APIFlask, *values: str) -> list[Record]:
    """The records in which any of `values` appears, in any column or change."""
    return [
        record
        for record in audit_records(app)
        if any(value in json.dumps(record, default=str) for value in values)
    ]
