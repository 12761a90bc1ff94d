"""Who may use templates: `templates:read` for reads, `templates:write` for writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient

from tests.books.test_routes import assert_problem
from tests.content_templates.test_routes import TEMPLATES, create, new_template

Operation = tuple[str, str]  # method, "list" | "one"
READS: list[Operation] = [("get", "list"), ("get", "one")]
WRITES: list[Operation] = [("post", "list"), ("put", "one"), ("patch", "one"), ("delete", "one")]


def call(client: FlaskClient, operation: Operation, path: str, key: str | None) -> Any:
    method, target = operation
    headers = {"X-API-KEY": key} if key else {}
    body = new_template(name="Changed") if method in ("post", "put", "patch") else None
    return getattr(client, method)(
        TEMPLATES if target == "list" else path, json=body, headers=headers
    )


@pytest.fixture
def path(client: FlaskClient) -> str:
    return f"{TEMPLATES}/{create(client)['templateid']}"


@pytest.mark.parametrize("operation", READS + WRITES)
def test_no_key_is_401_with_a_challenge(anon: FlaskClient, path: str, operation: Operation) -> None:
    response = call(anon, operation, path, None)
    assert_problem(response, 401, "UNAUTHORIZED")
    assert response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("operation", READS + WRITES)
def test_an_unknown_key_is_401(anon: FlaskClient, path: str, operation: Operation) -> None:
    assert_problem(call(anon, operation, path, "not-a-key"), 401, "UNAUTHORIZED")


@pytest.mark.parametrize("operation", READS + WRITES)
@pytest.mark.parametrize("scopes", [("books:write",), ("loans:read", "loans:write")])
def test_a_key_without_a_templates_scope_is_403(
    anon: FlaskClient,
    path: str,
    issue_key: Callable[..., str],
    operation: Operation,
    scopes: tuple[str, ...],
) -> None:
    body = assert_problem(call(anon, operation, path, issue_key(*scopes)), 403, "FORBIDDEN")
    assert "templates:" in body["message"]


@pytest.mark.parametrize("operation", WRITES)
def test_read_scope_does_not_allow_writes(
    anon: FlaskClient, path: str, issue_key: Callable[..., str], operation: Operation
) -> None:
    response = call(anon, operation, path, issue_key("templates:read"))
    body = assert_problem(response, 403, "FORBIDDEN")
    assert "templates:write" in body["message"]


@pytest.mark.parametrize("operation", READS)
def test_write_scope_does_not_allow_reads(
    anon: FlaskClient, path: str, issue_key: Callable[..., str], operation: Operation
) -> None:
    response = call(anon, operation, path, issue_key("templates:write"))
    body = assert_problem(response, 403, "FORBIDDEN")
    assert "templates:read" in body["message"]


@pytest.mark.parametrize("operation", READS)
def test_read_scope_allows_reads(
    anon: FlaskClient, path: str, issue_key: Callable[..., str], operation: Operation
) -> None:
    response = call(anon, operation, path, issue_key("templates:read"))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("operation", "status"),
    [
        (("post", "list"), 201),
        (("put", "one"), 200),
        (("patch", "one"), 200),
        (("delete", "one"), 204),
    ],
)
def test_write_scope_allows_writes(
    anon: FlaskClient,
    path: str,
    issue_key: Callable[..., str],
    operation: Operation,
    status: int,
) -> None:
    assert call(anon, operation, path, issue_key("templates:write")).status_code == status


def test_a_cached_read_still_needs_the_scope(
    app: APIFlask, path: str, issue_key: Callable[..., str]
) -> None:
    reader = app.test_client()
    reader.environ_base["HTTP_X_API_KEY"] = issue_key("templates:read")
    assert reader.get(TEMPLATES).status_code == 200
    assert reader.get(TEMPLATES).headers["X-Cache"] == "HIT"
    assert_problem(call(app.test_client(), ("get", "list"), path, None), 401, "UNAUTHORIZED")
    other = issue_key("books:write")
    assert_problem(call(app.test_client(), ("get", "list"), path, other), 403, "FORBIDDEN")
