"""Every creating POST documents Idempotency-Key, its 409 and 422, and Idempotent-Replayed."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.support.contract import EVERY
from tests.support.resources import Resource


def _create(client: FlaskClient, resource: Resource) -> dict[str, Any]:
    spec = client.get("/openapi.json").get_json()
    operation: dict[str, Any] = spec["paths"][resource.path]["post"]
    return operation


@EVERY
def test_the_header_is_an_optional_documented_parameter(
    anon: FlaskClient, resource: Resource
) -> None:
    (parameter,) = [p for p in _create(anon, resource)["parameters"] if p["in"] == "header"]
    assert parameter["name"] == "Idempotency-Key"
    assert parameter["required"] is False
    assert "24 hours" in parameter["schema"]["description"]
    assert parameter["schema"]["examples"]


@EVERY
def test_the_409_422_and_the_replayed_header_are_documented(
    anon: FlaskClient, resource: Resource
) -> None:
    responses = _create(anon, resource)["responses"]
    assert "IDEMPOTENCY_KEY_IN_FLIGHT" in responses["409"]["description"]
    assert "IDEMPOTENCY_KEY_REUSED" in responses["422"]["description"]
    assert "body" in responses["422"]["description"]  # the body's own 422 stays described
    for status in ("409", "422"):
        assert "application/problem+json" in responses[status]["content"]
    created = responses["201"]
    assert {"Idempotent-Replayed", "Location"} <= created["headers"].keys()
    assert "application/json" in created["content"]


def test_a_declared_409_keeps_its_own_meaning(anon: FlaskClient) -> None:
    spec = anon.get("/openapi.json").get_json()
    description = spec["paths"]["/api/v1/books"]["post"]["responses"]["409"]["description"]
    assert description.startswith("Another book has this ISBN.")
