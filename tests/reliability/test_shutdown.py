"""Stopping the server: every request in flight is answered, and the stop is clean and quiet.

A SIGTERM to the master (Kubernetes, Docker, supervisord) drains, then stops gracefully; a
signal to the whole process group (Ctrl-C, systemd) reaches the workers too, and must still
end in exit 0 with no worker replaced and no error logged.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator

import pytest

from tests.support.servers import ServerProcess

IN_FLIGHT = 100
BOOK = b'{"title": "In Flight", "author": "A"}'


def headers_and_half_a_body(admin_key: str) -> bytes:
    return (
        b"POST /api/v1/books HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + f"X-API-KEY: {admin_key}\r\nContent-Length: {len(BOOK)}\r\n\r\n".encode()
        + BOOK[: len(BOOK) // 2]
    )


def answer(sock: socket.socket) -> bytes:
    """The whole answer on `sock`, or what came before the connection failed."""
    received = b""
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            received += chunk
            if b"\r\n\r\n" in received and received.endswith(b"}"):
                break
    return received


@contextlib.contextmanager
def requests_in_flight(server: ServerProcess, count: int) -> Iterator[list[bytes]]:
    """`count` writes sent but for half their body; finished after the block; their answers."""
    sockets = [
        socket.create_connection(("127.0.0.1", server.port), timeout=30) for _ in range(count)
    ]
    start = headers_and_half_a_body(server.admin_key)
    for sock in sockets:
        sock.sendall(start)
    time.sleep(0.5)  # every request has reached the server; none can be answered yet
    answers: list[bytes] = []
    try:
        yield answers
        time.sleep(0.5)  # the stop has begun
    finally:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.sendall(BOOK[len(BOOK) // 2 :])
        started = time.monotonic()
        for sock in sockets:
            answers.append(answer(sock))
            sock.close()
        waited = time.monotonic() - started
        print(f"\nthe {count} requests in flight were answered within {waited:.2f} s")


def summarise(title: str, answers: list[bytes]) -> int:
    """Print and return how many requests got a 5xx or no answer."""
    failed = sum(1 for item in answers if not item.startswith(b"HTTP/1.1 201"))
    print(f"{title}: {len(answers)} requests in flight, 5xx or no answer {failed}")
    return failed


def test_sigterm_answers_every_request_in_flight(
    production_server: Callable[..., ServerProcess],
) -> None:
    server = production_server(SHUTDOWN_DRAIN_SECONDS="0.5", GRACEFUL_TIMEOUT="20")
    with requests_in_flight(server, IN_FLIGHT) as answers:
        server.process.send_signal(signal.SIGTERM)
    assert summarise("SIGTERM", answers) == 0
    assert server.process.wait(timeout=30) == 0


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_to_the_process_group_stops_cleanly_and_quietly(
    production_server: Callable[..., ServerProcess], stop: signal.Signals
) -> None:
    # The workers finish their requests and stop well before the master's drain ends.
    server = production_server(SHUTDOWN_DRAIN_SECONDS="2", LOG_LEVEL="INFO")
    with requests_in_flight(server, 10) as answers:
        os.killpg(server.process.pid, stop)  # as Ctrl-C in a terminal, or systemd, does
    assert summarise(f"{stop.name} to the process group", answers) == 0
    assert server.process.wait(timeout=30) == 0
    assert server.process.stdout is not None
    output = server.process.stdout.read().decode()
    errors = [line for line in output.splitlines() if "ERROR" in line or '"error"' in line]
    assert errors == [], output
    assert output.count("Spawning worker") == 2, output  # none replaced
