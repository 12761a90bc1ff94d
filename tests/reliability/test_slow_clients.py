"""Slow clients (slow headers, slow bodies) leave every other client's answers fast.

granian reads headers off its worker threads, so slow headers cost the server nothing; a
request body is read by the worker thread itself, so slow bodies are held by the buffering
proxy the deployment puts in front (deploy/nginx/), which passes on complete requests only.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.support.load import steady_load
from tests.support.nginx import BufferingProxy
from tests.support.servers import ServerProcess

SLOW_SOCKETS = 50
WINDOW = 3.0  # seconds of measurement while every slow socket is open
P99_BOUND = 0.1  # the guarantee: other clients' p99 stays under 100 ms

SLOW_STARTS = {
    # Headers that never end: one more byte of a header line every second.
    "headers": (b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ", b"a"),
    # An anonymous write announcing 100 kB and sending one byte a second.
    "body": (
        b"POST /api/v1/books HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
        b" ",
    ),
}


@contextlib.contextmanager
def slow_clients(port: int, kind: str) -> Iterator[None]:
    """SLOW_SOCKETS connections sending `kind` at one byte a second while the block runs."""
    start, byte = SLOW_STARTS[kind]
    stop = threading.Event()
    sockets = [
        socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(SLOW_SOCKETS)
    ]

    def trickle() -> None:
        with contextlib.suppress(OSError):
            for sock in sockets:
                sock.sendall(start)
            while not stop.wait(1.0):
                for sock in sockets:
                    sock.sendall(byte)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    time.sleep(0.5)  # every slow request has begun
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
        for sock in sockets:
            sock.close()


def measure_others(url: str, item: str, port: int, kind: str) -> None:
    """Other clients' /health and book reads while slow clients of `kind` hold connections."""
    senders: dict[str, Callable[[requests.Session], requests.Response]] = {
        "health": lambda session: session.get(f"{url}/health", timeout=10),
        "read": lambda session: session.get(f"{url}{item}", timeout=10),
    }
    with slow_clients(port, kind), steady_load(senders) as outcome:
        time.sleep(WINDOW)
    outcome.summary(f"{SLOW_SOCKETS} slow {kind} sockets")
    assert outcome.server_errors == 0
    assert outcome.statuses("health") == {200}
    assert outcome.statuses("read") == {200}
    assert outcome.p99("health", "read") < P99_BOUND, outcome.p99("health", "read")


def a_book(server: ServerProcess) -> str:
    created = requests.post(
        f"{server.url}/api/v1/books",
        json={"title": "Dune", "author": "Frank Herbert"},
        headers={"X-API-KEY": server.admin_key},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    return f"/api/v1/books/{created.json()['id']}"


def test_slow_headers_leave_the_server_fast(
    production_server: Callable[..., ServerProcess],
) -> None:
    server = production_server()
    measure_others(server.url, a_book(server), server.port, "headers")


@pytest.mark.parametrize("kind", ["headers", "body"])
def test_slow_clients_behind_the_proxy_leave_the_server_fast(
    production_server: Callable[..., ServerProcess], tmp_path: Path, kind: str
) -> None:
    server = production_server(TRUSTED_PROXIES="1")
    proxy = BufferingProxy(tmp_path / "nginx", server.port)
    try:
        measure_others(proxy.url, a_book(server), proxy.port, kind)
        too_large = requests.post(
            f"{proxy.url}/api/v1/books",
            data=b" " * (3 * 1024 * 1024),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert too_large.status_code == 413
        assert too_large.headers["Content-Type"] == "application/problem+json"
        assert too_large.json()["code"] == "PAYLOAD_TOO_LARGE"
    finally:
        proxy.stop()
