"""Request header fields at their edges, on the production servers as real processes: oversized
ones, and names with an underscore, which WSGI cannot tell from the same name with dashes.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from shelf.server.granian import HEAD_BUFFER_BYTES
from shelf.web.envelope import MAX_HEADER_BYTES
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.server
SERVERS = pytest.mark.parametrize("kind", ["granian", "gunicorn"])
BOOK = {"title": "Dune", "author": "Frank Herbert"}


def assert_service_431(response: requests.Response) -> None:
    assert response.status_code == 431
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "HEADERS_TOO_LARGE"
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@SERVERS
def test_oversized_header_fields_get_the_services_431(
    start_server: Callable[..., ServerProcess], kind: str
) -> None:
    server = start_server(SERVER=kind, WEB_CONCURRENCY="1")
    one_long = {"X-Padding": "a" * (MAX_HEADER_BYTES + 1)}
    many = {f"X-Padding-{i}": "a" * 4000 for i in range(10)}
    for headers in (one_long, many):
        assert_service_431(requests.get(f"{server.url}/health", headers=headers, timeout=5))
        assert_service_431(requests.get(f"{server.url}/api/v1/books", headers=headers, timeout=5))
    fitting = {f"X-Padding-{i}": "a" * 2000 for i in range(10)}
    assert requests.get(f"{server.url}/health", headers=fitting, timeout=5).status_code == 200


def test_granian_answers_past_its_own_bounds_itself(
    start_server: Callable[..., ServerProcess],
) -> None:
    # Documented in README: past its head buffer or 100 header lines, granian's HTTP parser
    # answers before any Python runs, so without the service's body and headers.
    server = start_server(SERVER="granian", WEB_CONCURRENCY="1")
    assert HEAD_BUFFER_BYTES > 4 * MAX_HEADER_BYTES  # a wide band where the app answers
    for headers in (
        {"X-Padding": "a" * (2 * HEAD_BUFFER_BYTES)},
        {f"X-Line-{i}": "a" for i in range(120)},
    ):
        response = requests.get(f"{server.url}/health", headers=headers, timeout=5)
        assert response.status_code == 431
        assert "X-Request-ID" not in response.headers


def test_gunicorn_drops_header_names_with_an_underscore(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(
        SERVER="gunicorn", WEB_CONCURRENCY="1", TRUSTED_PROXIES="1", DEFAULT_RATE_LIMIT="3"
    )
    books = f"{server.url}/api/v1/books"
    no_scope = requests.post(
        books,
        json=BOOK,
        headers={"X-API-KEY": "shelf_unknown", "X_API_KEY": server.admin_key},
        timeout=5,
    )
    assert no_scope.status_code == 401  # the admin key under X_API_KEY never arrived
    alone = requests.post(books, json=BOOK, headers={"X_API_KEY": server.admin_key}, timeout=5)
    assert alone.status_code == 401
    statuses = [
        requests.get(
            books,
            headers={"X-Forwarded-For": "203.0.113.7", "X_Forwarded_For": f"198.51.100.{i}"},
            timeout=5,
        ).status_code
        for i in range(4)
    ]
    assert statuses == [200, 200, 200, 429]  # counted by the proxy's address, every time


def test_granian_cannot_tell_an_underscore_name_from_its_dash_spelling(
    start_server: Callable[..., ServerProcess],
) -> None:
    # A tripwire for README's "Header names with underscores": granian 2.8 builds the environ in
    # its Rust core, where X_API_KEY and X-API-KEY both become HTTP_X_API_KEY (the later wins),
    # and has no setting to drop or refuse such names; the app sees one header. When this
    # starts failing, granian has learnt to: drop them there, and say so in the README.
    server = start_server(SERVER="granian", WEB_CONCURRENCY="1")
    overridden = requests.post(
        f"{server.url}/api/v1/books",
        json=BOOK,
        headers={"X-API-KEY": "shelf_unknown", "X_API_KEY": server.admin_key},
        timeout=5,
    )
    assert overridden.status_code == 201
