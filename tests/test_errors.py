"""Unknown routes, and unexpected failures: a generic problem out, the trace in the logs."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from shelf.app import create_app
from tests.support.checks import assert_problem
from tests.support.factories import make_settings
from tests.support.resources import BOOKS, create_book


def test_an_unknown_route_is_404(client: FlaskClient) -> None:
    assert_problem(client.get("/api/v1/nothing-here"), 404, "NOT_FOUND")


EMPTY_SEGMENT_PATHS = ["//", "//evil.example/x", "///health", "//api/v1/books", "/api/v1//books"]


@pytest.mark.parametrize("path", EMPTY_SEGMENT_PATHS)
def test_a_path_with_an_empty_segment_is_404_never_a_redirect(anon: FlaskClient, path: str) -> None:
    response = anon.get(
        "/", environ_overrides={"PATH_INFO": path}, headers={"Host": "evil.example"}
    )
    assert_problem(response, 404, "NOT_FOUND")
    assert "Location" not in response.headers


def test_the_cached_read_shortcut_answers_no_empty_segment(
    anon: FlaskClient, client: FlaskClient
) -> None:
    book = create_book(client)
    assert anon.get(f"{BOOKS}/{book['id']}").status_code == 200  # now cached
    assert anon.get(f"{BOOKS}/{book['id']}").headers["X-Cache"] == "HIT"
    doubled = f"/api/v1//books/{book['id']}"
    response = anon.get("/", environ_overrides={"PATH_INFO": doubled})
    assert_problem(response, 404, "NOT_FOUND")


def failing_app(error: Exception):  # type: ignore[no-untyped-def]
    app = create_app(make_settings())

    @app.get("/boom")
    def boom() -> None:
        raise error

    return app


def test_an_unexpected_error_is_a_generic_500(capsys: pytest.CaptureFixture[str]) -> None:
    app = failing_app(RuntimeError("password=hunter2 in SELECT * FROM secrets"))
    response = app.test_client().get("/boom", headers={"X-Request-ID": "trace-me"})
    body = assert_problem(response, 500, "INTERNAL_ERROR")
    assert body["request_id"] == "trace-me"
    assert "hunter2" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    failure = next(line for line in logged if line["event"] == "unhandled exception")
    assert failure["request_id"] == "trace-me"
    assert "hunter2" in failure["exception"]


def test_a_unique_violation_anywhere_is_409() -> None:
    app = failing_app(IntegrityError("INSERT ...", {}, Exception("duplicate key")))
    response = app.test_client().get("/boom")
    assert response.status_code == 409
    assert "duplicate key" not in response.get_data(as_text=True)


def test_an_exhausted_pool_is_503_with_retry_after() -> None:
    app = failing_app(PoolTimeoutError("QueuePool limit reached"))
    response = app.test_client().get("/boom")
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "QueuePool" not in response.get_data(as_text=True)
