"""The production server as a real process: HTTP, draining and graceful shutdown on SIGTERM."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.support.metrics import counted
from tests.support.servers import ServerProcess

pytestmark = [pytest.mark.server, pytest.mark.parametrize("kind", ["granian", "gunicorn"])]


def test_the_server_serves_the_api(
    start_server: Callable[..., ServerProcess], kind: str, tmp_path: Path
) -> None:
    # `shelf serve` makes the metrics folder its workers share before any of them starts.
    folder = tmp_path / "metrics" / "missing"
    server = start_server(SERVER=kind, WEB_CONCURRENCY="2", PROMETHEUS_MULTIPROC_DIR=str(folder))
    created = requests.post(
        f"{server.url}/api/v1/books",
        json={"title": "Dune", "author": "Frank Herbert"},
        headers={"X-API-KEY": server.admin_key},
        timeout=5,
    )
    assert created.status_code == 201
    listed = requests.get(f"{server.url}/api/v1/books", timeout=5)
    assert listed.status_code == 200
    assert listed.json()["total"] == 1
    health = {"method": "GET", "route": "/health", "status": "200"}
    before = counted(requests.get(f"{server.url}/metrics", timeout=5).text, **health)
    for _ in range(20):  # fresh connections, spread over the workers
        assert requests.get(f"{server.url}/health", timeout=5).status_code == 200
    assert list(folder.glob("counter_*.db"))
    metrics = requests.get(f"{server.url}/metrics", timeout=5).text
    assert counted(metrics, method="POST", route="/api/v1/books", status="201") == 1
    # Every worker's requests, not only those of the worker that answered /metrics.
    assert counted(metrics, **health) == before + 20
    assert server.stop() == 0


def test_sigterm_drains_then_lets_the_in_flight_request_finish(
    start_server: Callable[..., ServerProcess], kind: str
) -> None:
    # A second thread per worker answers readiness even if it lands on the worker whose thread
    # is busy reading the slow body (granian queues connections to a worker's threads).
    server = start_server(
        SERVER=kind, WEB_THREADS="2", SHUTDOWN_DRAIN_SECONDS="1", GRACEFUL_TIMEOUT="20"
    )
    body = json.dumps({"title": "Slow Book", "author": "Tortoise"}).encode()
    half = len(body) // 2
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as slow:
        slow.sendall(
            b"POST /api/v1/books HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\n"
            + f"X-API-KEY: {server.admin_key}\r\n".encode()
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:half]
        )
        time.sleep(0.3)  # the worker is now blocked reading the rest of the body
        server.process.send_signal(15)
        time.sleep(0.3)
        readiness = requests.get(f"{server.url}/readiness", timeout=5)
        assert readiness.status_code == 503
        assert "shutting down" in readiness.json()["detail"]
        time.sleep(1.5)  # past the drain: the graceful stop has begun
        slow.sendall(body[half:])
        response = b""
        while chunk := slow.recv(65536):
            response += chunk
    assert response.startswith(b"HTTP/1.1 201"), response[:200]
    assert b"Slow Book" in response
    assert server.process.wait(timeout=30) == 0


def test_a_chunked_body_is_held_to_the_size_limit(
    start_server: Callable[..., ServerProcess], kind: str
) -> None:
    server = start_server(SERVER=kind, MAX_CONTENT_LENGTH="1024")
    headers = {"X-API-KEY": server.admin_key, "Content-Type": "application/json"}
    book = json.dumps({"title": "Padded", "author": "A"}).encode()

    def chunks(padding: int) -> Iterator[bytes]:
        yield book[:-1]
        yield b" " * padding  # whitespace inside the object keeps the JSON valid
        yield book[-1:]

    url = f"{server.url}/api/v1/books"
    small = requests.post(url, data=chunks(10), headers=headers, timeout=10)
    assert small.status_code == 201, small.text
    large = requests.post(url, data=chunks(5000), headers=headers, timeout=10)
    assert large.status_code == 413
    assert large.headers["Content-Type"] == "application/problem+json"


def test_a_stuck_request_ends_its_worker_and_another_takes_over(
    start_server: Callable[..., ServerProcess], kind: str
) -> None:
    server = start_server(SERVER=kind, WEB_CONCURRENCY="1", WORKER_TIMEOUT="2")
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as stuck:
        # A body that never arrives holds the worker, as a deadlock would.
        stuck.sendall(
            b"POST /api/v1/books HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        started = time.monotonic()
        answer = stuck.recv(65536)
        waited = time.monotonic() - started
    assert not answer.startswith(b"HTTP/1.1 2"), answer[:200]
    assert waited >= 2
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{server.url}/health", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.2)
    assert requests.get(f"{server.url}/health", timeout=2).status_code == 200
    assert server.stop() == 0
