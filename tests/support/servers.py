"""The production server (`shelf serve`) as a real process, for tests marked `server`."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.factories import make_key, migrate

__all__ = ["ServerProcess", "Servers", "free_port"]

SERVER_ENV = {"APP_ENV": "test", "LOG_LEVEL": "WARNING", "WEB_CONCURRENCY": "2"}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ServerProcess:
    """The production server (`shelf serve`) running as a real process on a free port."""

    def __init__(self, env: dict[str, str], admin_key: str = "") -> None:
        self.admin_key = admin_key
        self.database_url = env["DATABASE_URL"]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {**os.environ, "HOST": "127.0.0.1", "PORT": str(self.port), **env}
        shelf = Path(sys.executable).with_name("shelf")
        # A session of its own, so the master and its workers can be reaped together.
        self.process = subprocess.Popen(
            [str(shelf), "serve"],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_until_healthy()

    def _wait_until_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.communicate()[0].decode()
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{output}")
            try:
                if requests.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.1)  # the process is still starting
        self.stop()
        raise RuntimeError("server did not become healthy")

    def kill(self) -> None:
        """End the master and every worker at once (teardown; `stop` is the graceful way)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        if self.process.stdout:
            self.process.stdout.close()

    def stop(self) -> int:
        """SIGTERM the server and return its exit code; no worker outlives it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            if self.process.stdout:
                self.process.stdout.close()


class Servers:
    """The servers one test starts: each on a migrated SQLite file of its own unless given
    DATABASE_URL, with an admin key in its database; all killed by `kill_all`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[ServerProcess] = []

    def start(self, **env: str) -> ServerProcess:
        if "DATABASE_URL" not in env:
            env["DATABASE_URL"] = f"sqlite:///{self.directory / f'server{len(self.started)}.db'}"
            migrate(env["DATABASE_URL"])
        admin_key = make_key(env["DATABASE_URL"], "admin")
        server = ServerProcess({**SERVER_ENV, **env}, admin_key=admin_key)
        self.started.append(server)
        return server

    def kill_all(self) -> None:
        for server in self.started:
            server.kill()
