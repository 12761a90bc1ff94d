"""Helpers of the idempotency tests: POSTs with a key, and the records stored."""

from __future__ import annotations

from typing import Any

from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from shelf.extensions import db
from shelf.idempotency.models import IdempotencyRecord
from tests.support.resources import Resource

__all__ = ["count_items", "post_with_key", "stored_records"]


def post_with_key(
    client: FlaskClient, resource: Resource, key: str | None, **fields: Any
) -> TestResponse:
    """POST `resource.new` with `fields` added or replaced, sending `key` as Idempotency-Key."""
    headers = {"Idempotency-Key": key} if key is not None else {}
    response: TestResponse = client.post(
        resource.path, json={**resource.new, **fields}, headers=headers
    )
    return response


def stored_records(app: APIFlask) -> list[IdempotencyRecord]:
    """Every idempotency record in the app's database, oldest first."""
    with app.app_context():
        records = list(db.session.scalars(select(IdempotencyRecord).order_by(IdempotencyRecord.id)))
        db.session.expunge_all()
        return records


def count_items(app: APIFlask, resource: Resource) -> int:
    """How many items of `resource` the database holds."""
    table = next(t for t in IdempotencyRecord.metadata.sorted_tables if t.name == resource.name)
    with app.app_context(), db.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)
