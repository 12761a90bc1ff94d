"""A redis-server of the test's own behind a TCP proxy of the test's: Redis trouble on demand."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import redis

from tests.support.servers import free_port
from tests.support.services import unavailable

__all__ = ["PrivateRedis"]


class PrivateRedis:
    """A redis-server of the test's own, which the test may stop, freeze and restart.

    `proxy_url` leads to it through a TCP proxy of the test's, which `silence` turns into a
    black hole: connections are accepted, and nothing sent either way arrives.
    """

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None
        self._proxy = socket.create_server(("127.0.0.1", 0))
        self.proxy_url = f"redis://127.0.0.1:{self._proxy.getsockname()[1]}/0"
        self._forwarding = threading.Event()
        self._forwarding.set()
        self._proxied: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server is not installed")
        self.process = subprocess.Popen(
            [
                str(binary),
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
                *("--enable-debug-command", "local"),  # DEBUG SLEEP freezes it from inside
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_timeout=0.2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.ping()
                client.close()
                return
            except redis.RedisError:
                time.sleep(0.05)  # the process is still starting
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def freeze(self) -> None:
        """Make it hang: connections are accepted but never answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def silence(self) -> None:
        """Make the proxy drop all traffic, like a network that loses every packet."""
        self._forwarding.clear()

    def unsilence(self) -> None:
        self._forwarding.set()

    def close(self) -> None:
        """Stop the server and the proxy, ending every proxied connection."""
        self.stop()
        for sock in [self._proxy, *self._proxied]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked on it
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._proxy.accept()
            except OSError:  # closed
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.port), timeout=1)
            except OSError:  # the server is stopped: hang up at once
                client.close()
                continue
            upstream.settimeout(None)
            self._proxied += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if self._forwarding.is_set():
                    target.sendall(data)
        for sock in (source, target):  # one side hung up: so does the other
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
