"""`make audit` runs pip-audit where PyPI's advisory data can be read, and says it skipped
otherwise (`scripts/advisories.py` tells which)."""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType

import pytest

from tests.support.servers import free_port
from tests.support.tools import ROOT


def _probe() -> ModuleType:
    spec = importlib.util.spec_from_file_location("advisories", ROOT / "scripts/advisories.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def index() -> Iterator[Callable[[int, bytes], str]]:
    """A package index on a free port that answers every request with one status and body."""
    servers: list[ThreadingHTTPServer] = []

    def serve(status: int, body: bytes) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/pypi"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def test_an_index_serving_release_advisories_runs_the_audit(
    index: Callable[[int, bytes], str],
) -> None:
    url = index(200, json.dumps({"info": {}, "vulnerabilities": []}).encode())
    assert _probe().unavailable_because(url) is None


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (404, b"{}", "answered 404"),  # a mirror that serves projects but not releases
        (200, b'{"info": {}}', "no vulnerabilities field"),
        (200, b"<html>", "cannot be read"),
    ],
)
def test_an_index_without_release_advisories_skips_it_and_says_why(
    index: Callable[[int, bytes], str], status: int, body: bytes, reason: str
) -> None:
    found = _probe().unavailable_because(index(status, body))
    assert found is not None
    assert reason in found


def test_an_unreachable_index_skips_it_and_says_why() -> None:
    found = _probe().unavailable_because(f"http://127.0.0.1:{free_port()}/pypi", timeout=2)
    assert found is not None
    assert "cannot be read" in found


def test_make_audit_says_when_it_skipped() -> None:
    recipe = (ROOT / "Makefile").read_text().split("\naudit:")[1].split("\n\n")[0]
    assert "scripts/advisories.py" in recipe
    assert "pip-audit --strict" in recipe
    assert "SKIPPED, not passed" in recipe
