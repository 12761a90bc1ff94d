"""A port mapping for tests: a TCP forwarder on a port of its own, piping bytes to a server.

A browser that reaches the server through it sees another origin (another port) than the one
the server listens on, as behind `docker run -p 8081:8080`.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Iterator

__all__ = ["Forwarder", "forwarding"]


class Forwarder(socketserver.ThreadingTCPServer):
    """Every connection to `listen_port` is piped to `target_port` on loopback, bytes unchanged."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, listen_port: int, target_port: int) -> None:
        self.target_port = target_port
        super().__init__(("127.0.0.1", listen_port), _PipeHandler)

    @property
    def port(self) -> int:
        """The port the forwarder listens on."""
        port: int = self.server_address[1]
        return port


class _PipeHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        assert isinstance(self.server, Forwarder)
        with socket.create_connection(("127.0.0.1", self.server.target_port)) as upstream:
            pump = threading.Thread(target=_pipe, args=(upstream, self.request), daemon=True)
            pump.start()
            _pipe(self.request, upstream)
            pump.join(timeout=5)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


@contextlib.contextmanager
def forwarding(target_port: int) -> Iterator[Forwarder]:
    """A forwarder to `target_port` on a free port, serving until the block ends."""
    forwarder = Forwarder(0, target_port)
    threading.Thread(target=forwarder.serve_forever, daemon=True).start()
    try:
        yield forwarder
    finally:
        forwarder.shutdown()
        forwarder.server_close()
