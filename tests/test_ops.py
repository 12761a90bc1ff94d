"""Runtime info, liveness, readiness, metrics and the per-response conventions."""

from __future__ import annotations

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from pydantic import ValidationError
from sqlalchemy import make_url
from sqlalchemy.pool import QueuePool

from shelf.app import create_app
from shelf.extensions import db
from tests.support.factories import make_settings
from tests.support.metrics import gauge, requests_counted

UNREACHABLE_POSTGRES = "postgresql+psycopg://nobody@127.0.0.1:1/none"


def test_info_describes_the_runtime(client: FlaskClient) -> None:
    body = client.get("/").get_json()
    assert body["service"] == "shelf"
    assert body["env"] == "test"
    for key in ("version", "hostname", "python_version", "started_at", "uptime_seconds"):
        assert body[key] is not None
    assert body["links"]["docs"] == "docs"


def test_health_touches_no_dependency() -> None:
    app = create_app(make_settings(database_url=UNREACHABLE_POSTGRES))
    for path in ("/health", "/healthz"):
        response = app.test_client().get(path)
        assert response.status_code == 200
        assert response.get_json() == {"status": "ok"}


def test_readiness_is_ready_when_every_dependency_answers(client: FlaskClient) -> None:
    for path in ("/readiness", "/readyz"):
        response = client.get(path)
        assert response.status_code == 200
        body = response.get_json()
        assert body["status"] == "ready"
        assert body["checks"]["database"]["status"] == "ok"
        assert body["checks"]["database"]["latency_ms"] >= 0
        assert body["required"] == []


def test_an_unreachable_database_degrades_readiness_without_failing_it() -> None:
    app = create_app(make_settings(database_url=UNREACHABLE_POSTGRES))
    response = app.test_client().get("/readiness")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"]["status"] == "failing"


def test_readiness_is_503_naming_an_unreachable_database_it_requires() -> None:
    settings = make_settings(database_url=UNREACHABLE_POSTGRES, readiness_requires="database")
    response = create_app(settings).test_client().get("/readiness")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"]
    body = response.get_json()
    assert [d["field"] for d in body["details"]] == ["database"]
    assert "database" in body["detail"]


def test_an_unreachable_redis_degrades_readiness_unless_required(sqlite_url: str) -> None:
    unreachable = {"redis_url": "redis://127.0.0.1:1/0", "redis_socket_timeout": 0.2}
    app = create_app(make_settings(database_url=sqlite_url, **unreachable))
    body = app.test_client().get("/readiness").get_json()
    assert body["status"] == "degraded"
    assert body["checks"]["redis"]["status"] == "failing"
    assert body["checks"]["database"]["status"] == "ok"

    strict = make_settings(database_url=sqlite_url, readiness_requires="redis", **unreachable)
    response = create_app(strict).test_client().get("/readiness")
    assert response.status_code == 503
    assert [d["field"] for d in response.get_json()["details"]] == ["redis"]


def test_readiness_gauges_say_which_dependency_is_up(sqlite_url: str) -> None:
    settings = make_settings(
        database_url=sqlite_url, redis_url="redis://127.0.0.1:1/0", redis_socket_timeout=0.2
    )
    client = create_app(settings).test_client()
    client.get("/readiness")
    text = client.get("/metrics").get_data(as_text=True)
    assert gauge(text, "shelf_dependency_up", dependency="database") == 1
    assert gauge(text, "shelf_dependency_up", dependency="redis") == 0
    assert 0 <= gauge(text, "shelf_dependency_check_seconds", dependency="redis") <= 2


def test_a_saturated_pool_takes_the_instance_out_of_rotation(app: APIFlask) -> None:
    with app.app_context():
        pool = db.engine.pool
        assert isinstance(pool, QueuePool)
        held = [db.engine.connect() for _ in range(pool.size() + pool._max_overflow)]
    try:
        response = app.test_client().get("/readiness")
        assert response.status_code == 503
        assert [d["field"] for d in response.get_json()["details"]] == ["pool.writes"]
    finally:
        for connection in held:
            connection.close()
    assert app.test_client().get("/readiness").status_code == 200


def test_readiness_requires_names_known_dependencies() -> None:
    assert make_settings(readiness_requires=" Database, redis ", redis_url="redis://r:6379/0")
    with pytest.raises(ValidationError, match="readiness_requires"):
        make_settings(readiness_requires="database,kafka")
    with pytest.raises(ValidationError, match="REDIS_URL is not set"):
        make_settings(readiness_requires="redis")


def test_a_sane_request_id_is_echoed(client: FlaskClient) -> None:
    response = client.get("/health", headers={"X-Request-ID": "abc-123.trace"})
    assert response.headers["X-Request-ID"] == "abc-123.trace"


def test_an_unsafe_request_id_is_replaced(client: FlaskClient) -> None:
    for offered in ("<script>", "x" * 129, "a b"):
        response = client.get("/health", headers={"X-Request-ID": offered})
        assert response.headers["X-Request-ID"] != offered
        assert len(response.headers["X-Request-ID"]) == 32


def test_every_response_has_security_headers(client: FlaskClient) -> None:
    for path in ("/health", "/api/v1/books", "/nowhere"):
        headers = client.get(path).headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Request-ID"]


def test_cors_allows_only_configured_origins() -> None:
    app = create_app(make_settings(cors_origins="https://app.example.com"))
    client = app.test_client()
    allowed = client.get("/health", headers={"Origin": "https://app.example.com"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    denied = client.get("/health", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in denied.headers


def test_cors_preflight_names_the_allowed_methods_and_headers() -> None:
    app = create_app(make_settings(cors_origins="https://app.example.com"))
    preflight = {
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "X-API-KEY, If-Match, Content-Type",
    }
    response = app.test_client().options(
        "/api/v1/books/1", headers={"Origin": "https://app.example.com", **preflight}
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "PATCH" in response.headers["Access-Control-Allow-Methods"]
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert {"x-api-key", "if-match", "content-type"} <= {h.strip() for h in allowed.split(",")}
    refused = app.test_client().options(
        "/api/v1/books/1", headers={"Origin": "https://evil.example.com", **preflight}
    )
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert "Origin" in refused.headers.get("Vary", "")


def test_metrics_use_the_route_template(client: FlaskClient) -> None:
    series = {"method": "GET", "route": "/api/v1/books/<int:book_id>", "status": "404"}
    before = requests_counted(client, **series)
    client.get("/api/v1/books/12345")
    assert requests_counted(client, **series) == before + 1
    assert "/api/v1/books/12345" not in client.get("/metrics").get_data(as_text=True)


def test_unknown_methods_share_one_metrics_label(client: FlaskClient) -> None:
    before = requests_counted(client, method="OTHER")
    for method in ("BREW", "WHEN"):
        client.open("/api/v1/books", method=method)
    assert requests_counted(client, method="OTHER") == before + 2
    text = client.get("/metrics").get_data(as_text=True)
    assert "BREW" not in text
    assert "WHEN" not in text


def test_readiness_tells_an_error_the_database_answered_from_no_answer(
    postgresql_url: str,
) -> None:
    # A database that does not exist answers at once, with an error: it did not hang.
    missing = make_url(postgresql_url).set(database="shelf_no_such_database")
    app = create_app(make_settings(database_url=missing.render_as_string(hide_password=False)))
    check = app.test_client().get("/readiness").get_json()["checks"]["database"]
    assert check["status"] == "failing"
    assert check["error"] == "answered with an error: OperationalError (see the log)"
    assert "shelf_no_such_database" not in check["error"]  # the log has the database's words
    with app.app_context():
        db.dispose()
