"""What the HTTP-contract suite (tests/contract/) shares besides fixtures: the markers that
parametrise a test over RESOURCES (EVERY, PUBLIC, PRIVATE), the operations, and request helpers.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.resources import RESOURCES, Resource

__all__ = [
    "EVERY",
    "LABELS",
    "PRIVATE",
    "PUBLIC",
    "READS",
    "WRITES",
    "WRITE_METHODS",
    "Operation",
    "body_for",
    "each",
    "send",
]


def each(resources: list[Resource]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("resource", resources, ids=str)


EVERY = each(RESOURCES)
PUBLIC = each([resource for resource in RESOURCES if resource.public_reads])
PRIVATE = each([resource for resource in RESOURCES if not resource.public_reads])

WRITE_METHODS = ["post", "put", "patch"]
Operation = tuple[str, str]  # method, "list" | "one"
READS: list[Operation] = [("get", "list"), ("get", "one")]
WRITES: list[Operation] = [("post", "list"), ("put", "one"), ("patch", "one"), ("delete", "one")]
LABELS = ["Welcome", "Overdue reminder", "Reservation ready", "100% off_sale", "Farewell"]


def body_for(resource: Resource, method: str) -> dict[str, Any] | None:
    return {"post": resource.new, "put": resource.new, "patch": resource.change}.get(method)


def send(
    client: FlaskClient, resource: Resource, operation: Operation, item: str, key: str | None
) -> TestResponse:
    method, target = operation
    headers = {"X-API-KEY": key} if key else {}
    path = resource.path if target == "list" else item
    response: TestResponse = getattr(client, method)(
        path, json=body_for(resource, method), headers=headers
    )
    return response
