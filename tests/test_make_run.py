"""`make run` as a newcomer runs it, in a terminal."""

from __future__ import annotations

import os
import pty
import select
import socket
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.server


def test_ctrl_c_on_make_run_stops_quietly(repo_root: Path, tmp_path: Path) -> None:
    """`make run` in a terminal, then Ctrl-C: the whole foreground group gets SIGINT."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shelf.db'}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
    }
    pid, terminal = pty.fork()
    if pid == 0:  # the child: make, in the pseudo-terminal's foreground group
        os.chdir(repo_root)
        os.execvpe("make", ["make", "run"], env)
    output = _read_until(terminal, b"Started worker-2", timeout=60)
    os.write(terminal, b"\x03")  # Ctrl-C
    output += _read_until(terminal, b"", timeout=30)
    os.waitpid(pid, 0)
    text = output.decode(errors="replace")
    assert "SIGINT: draining" in text, text
    for trouble in ("ERROR", "Respawning", "Traceback", "***"):
        assert trouble not in text, text
    assert "Granian shutdown completed" in text, text


def _read_until(terminal: int, marker: bytes, timeout: float) -> bytes:
    """What the terminal shows until `marker` appears (or, for b"", until it closes)."""
    shown = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (marker and marker in shown):
        ready, _, _ = select.select([terminal], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(terminal, 65536)
            except OSError:  # the terminal closed: every process in it has exited
                break
            if not chunk:
                break
            shown += chunk
    return shown
