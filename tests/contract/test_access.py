"""Access to every resource: 404 and 405, 401 and 403 by scope for each operation, and rate
limits.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from shelf.core.principal import SCOPES
from tests.support.checks import assert_problem
from tests.support.contract import EVERY, PRIVATE, PUBLIC, READS, WRITES, Operation, send
from tests.support.resources import RESOURCES, Resource

# What is not there, and methods not allowed


@EVERY
def test_delete_gives_204_then_404(client: FlaskClient, existing: str, resource: Resource) -> None:
    response = client.delete(existing)
    assert response.status_code == 204
    assert response.data == b""
    assert_problem(client.get(existing), 404, "NOT_FOUND")
    assert_problem(client.delete(existing), 404, "NOT_FOUND")


@EVERY
def test_a_204_claims_no_content_type(
    client: FlaskClient, existing: str, resource: Resource
) -> None:
    assert "Content-Type" not in client.delete(existing).headers  # there is no body to type


@pytest.mark.parametrize(
    ("resource", "missing_id"),
    [pytest.param(r, id_, id=f"{r}-{id_}") for r in RESOURCES for id_ in r.missing_ids],
)
def test_unknown_and_malformed_ids_are_404(
    client: FlaskClient, resource: Resource, missing_id: str
) -> None:
    for method in ("get", "put", "patch", "delete"):
        response = getattr(client, method)(f"{resource.path}/{missing_id}", json=resource.new)
        assert_problem(response, 404, "NOT_FOUND")


@EVERY
def test_a_wrong_method_is_405_with_allow(
    client: FlaskClient, resource: Resource, existing: str
) -> None:
    for method in ("put", "patch", "delete"):
        response = getattr(client, method)(resource.path, json=resource.new)
        assert_problem(response, 405, "METHOD_NOT_ALLOWED")
        assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    response = client.post(existing, json=resource.new)
    assert_problem(response, 405, "METHOD_NOT_ALLOWED")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "PUT", "PATCH", "DELETE"}


# Scopes


# Every operation that needs a key: writes, and reads where they are not public.
GUARDED = [
    pytest.param(resource, operation, id=f"{resource}-{'-'.join(operation)}")
    for resource in RESOURCES
    for operation in (WRITES if resource.public_reads else READS + WRITES)
]


def other_scopes(resource: Resource) -> list[str]:
    """Every scope there is but `resource`'s own and `admin`: none lets a caller use it."""
    return [scope for scope in SCOPES if scope not in resource.scopes and scope != "admin"]


@pytest.mark.parametrize(("resource", "operation"), GUARDED)
def test_an_operation_that_needs_a_key_is_401_with_a_challenge_without_one(
    anon: FlaskClient, resource: Resource, existing: str, operation: Operation
) -> None:
    response = send(anon, resource, operation, existing, None)
    assert_problem(response, 401, "UNAUTHORIZED")
    assert response.headers["WWW-Authenticate"].startswith("ApiKey")


@PUBLIC
@pytest.mark.parametrize("operation", READS)
def test_public_reads_need_no_key(
    anon: FlaskClient, resource: Resource, existing: str, operation: Operation
) -> None:
    assert send(anon, resource, operation, existing, None).status_code == 200


@PUBLIC
@pytest.mark.parametrize("operation", READS)
def test_a_public_read_with_an_unknown_key_is_401_not_served_as_anonymous(
    anon: FlaskClient, resource: Resource, existing: str, operation: Operation
) -> None:
    response = send(anon, resource, operation, existing, "shelf_not-a-key")
    assert_problem(response, 401, "UNAUTHORIZED")
    assert response.headers["WWW-Authenticate"].startswith("ApiKey")
    assert (
        "Cache-Control" not in response.headers or "public" not in response.headers["Cache-Control"]
    )


@pytest.mark.parametrize(("resource", "operation"), GUARDED)
def test_an_unknown_key_is_401(
    anon: FlaskClient, resource: Resource, existing: str, operation: Operation
) -> None:
    assert_problem(send(anon, resource, operation, existing, "not-a-key"), 401, "UNAUTHORIZED")


@pytest.mark.parametrize(("resource", "operation"), GUARDED)
def test_a_key_for_other_resources_is_403_naming_the_scope(
    anon: FlaskClient,
    issue_key: Callable[..., str],
    resource: Resource,
    existing: str,
    operation: Operation,
) -> None:
    key = issue_key(*other_scopes(resource))
    response = send(anon, resource, operation, existing, key)
    body = assert_problem(response, 403, "FORBIDDEN")
    needed = resource.read_scope if operation in READS else resource.write_scope
    assert f"needs: {needed}" in body["detail"]
    assert body["message"] == body["detail"]
    assert "WWW-Authenticate" not in response.headers  # the key is known: no new challenge


@PRIVATE
@pytest.mark.parametrize("operation", WRITES)
def test_the_read_scope_does_not_allow_writes(
    anon: FlaskClient,
    issue_key: Callable[..., str],
    resource: Resource,
    existing: str,
    operation: Operation,
) -> None:
    key = issue_key(resource.read_scope)
    body = assert_problem(send(anon, resource, operation, existing, key), 403, "FORBIDDEN")
    assert resource.write_scope in body["detail"]


@PRIVATE
@pytest.mark.parametrize("operation", READS)
def test_the_write_scope_does_not_allow_reads(
    anon: FlaskClient,
    issue_key: Callable[..., str],
    resource: Resource,
    existing: str,
    operation: Operation,
) -> None:
    key = issue_key(resource.write_scope)
    body = assert_problem(send(anon, resource, operation, existing, key), 403, "FORBIDDEN")
    assert f"needs: {resource.read_scope}" in body["detail"]


@PRIVATE
@pytest.mark.parametrize("operation", READS)
def test_the_read_scope_allows_reads(
    anon: FlaskClient,
    issue_key: Callable[..., str],
    resource: Resource,
    existing: str,
    operation: Operation,
) -> None:
    response = send(anon, resource, operation, existing, issue_key(resource.read_scope))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


@EVERY
@pytest.mark.parametrize(
    ("operation", "status"),
    [(WRITES[0], 201), (WRITES[1], 200), (WRITES[2], 200), (WRITES[3], 204)],
)
def test_the_write_scope_allows_writes(
    anon: FlaskClient,
    issue_key: Callable[..., str],
    resource: Resource,
    existing: str,
    operation: Operation,
    status: int,
) -> None:
    key = issue_key(resource.write_scope)
    assert send(anon, resource, operation, existing, key).status_code == status


# Rate limits


@EVERY
def test_limited_responses_carry_ratelimit_headers(
    limited: FlaskClient, resource: Resource
) -> None:
    for remaining in ("2", "1"):
        response = limited.get(resource.path)
        assert response.headers["RateLimit-Limit"] == "3"
        assert response.headers["RateLimit-Remaining"] == remaining
        assert int(response.headers["RateLimit-Reset"]) > 0


@EVERY
def test_over_the_limit_is_429_with_retry_after(limited: FlaskClient, resource: Resource) -> None:
    for _ in range(3):
        assert limited.get(resource.path).status_code == 200
    response = limited.get(resource.path)
    body = assert_problem(response, 429, "RATE_LIMITED")
    assert int(response.headers["Retry-After"]) > 0
    assert "Retry-After" in body["detail"]
