"""Request bodies on every resource: 400, 413, 415 and 422; required, read-only, unknown and
non-null fields.

A body is refused before any query runs, so these run on SQLite only (the `database_url`
fixture below); what a valid write does is checked on both backends elsewhere.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.support.checks import assert_problem
from tests.support.contract import EVERY, WRITE_METHODS, body_for
from tests.support.resources import RESOURCES, Resource


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """One backend: nothing here reaches the database but the item a write targets."""
    return sqlite_url


def path_to_write(client: FlaskClient, resource: Resource, method: str) -> str:
    """Where `method` writes: the collection for POST, a new item otherwise."""
    return resource.path if method == "post" else resource.item_path(resource.create(client))


# Request bodies


@EVERY
@pytest.mark.parametrize("method", WRITE_METHODS)
def test_a_body_that_is_not_an_object_is_422(
    client: FlaskClient, resource: Resource, method: str
) -> None:
    path = path_to_write(client, resource, method)
    for payload in ("[]", '"a string"', "42", "true", "null"):
        response = getattr(client, method)(path, data=payload, content_type="application/json")
        assert_problem(response, 422, "VALIDATION_FAILED")


@EVERY
@pytest.mark.parametrize("method", WRITE_METHODS)
def test_malformed_json_is_400(client: FlaskClient, resource: Resource, method: str) -> None:
    path = path_to_write(client, resource, method)
    response = getattr(client, method)(path, data='{"a": ', content_type="application/json")
    assert_problem(response, 400, "BAD_REQUEST")


@EVERY
@pytest.mark.parametrize("method", WRITE_METHODS)
def test_a_non_json_body_is_415(client: FlaskClient, resource: Resource, method: str) -> None:
    path = path_to_write(client, resource, method)
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        response = getattr(client, method)(path, data="a=1", content_type=content_type)
        assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")


@EVERY
@pytest.mark.parametrize("method", WRITE_METHODS)
def test_a_body_over_the_limit_is_413(client: FlaskClient, resource: Resource, method: str) -> None:
    path = path_to_write(client, resource, method)
    huge = {**resource.new, resource.label: "x" * 2_000_000}
    assert_problem(getattr(client, method)(path, json=huge), 413, "PAYLOAD_TOO_LARGE")


@EVERY
@pytest.mark.parametrize("method", ["post", "put"])
def test_each_missing_required_field_is_named(
    client: FlaskClient, resource: Resource, method: str
) -> None:
    path = path_to_write(client, resource, method)
    body = assert_problem(getattr(client, method)(path, json={}), 422, "VALIDATION_FAILED")
    assert sorted(detail["field"] for detail in body["details"]) == sorted(resource.required)


@pytest.mark.parametrize(
    ("resource", "field"),
    [
        pytest.param(r, field, id=f"{r}-{field}")
        for r in RESOURCES
        for field in (*r.read_only, "no_such_field")
    ],
)
def test_read_only_and_unknown_fields_are_422_naming_them(
    client: FlaskClient, resource: Resource, field: str
) -> None:
    item = resource.item_path(resource.create(client))
    for method, path in (("post", resource.path), ("put", item), ("patch", item)):
        response = getattr(client, method)(path, json={**body_for(resource, method), field: "x"})
        body = assert_problem(response, 422, "VALIDATION_FAILED")
        assert [detail["field"] for detail in body["details"]] == [field]
        assert body["details"][0]["issue"]
        assert body["details"][0]["hint"]


@pytest.mark.parametrize(
    ("resource", "field"),
    [pytest.param(r, field, id=f"{r}-{field}") for r in RESOURCES for field in r.not_null],
)
def test_patch_cannot_null_a_field_that_must_hold_a_value(
    client: FlaskClient, resource: Resource, field: str
) -> None:
    item = resource.create(client)
    response = client.patch(resource.item_path(item), json={field: None})
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    assert [detail["field"] for detail in body["details"]] == [field]
    assert client.get(resource.item_path(item)).get_json() == item
