"""A PostgreSQL server of the test's own, on a free port: database trouble on demand.

The shared server is never stopped, frozen or cut off; a test that needs a database to fail
starts one of these, which it may stop, freeze (SIGSTOP on the postmaster and every backend,
as a hung host would) and restart, and whose connections it may terminate.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

from tests.support.servers import free_port
from tests.support.services import unavailable

__all__ = ["PrivatePostgres", "private_postgres"]

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _binary(name: str) -> str:
    for directory in BIN_DIRS:
        if (directory / name).exists():
            return str(directory / name)
    found = shutil.which(name)
    if found is None:
        unavailable(f"PostgreSQL's {name} is not installed")
    return str(found)


def _as_owner() -> dict[str, object]:
    """Run as `postgres` when the tests run as root (initdb and postgres refuse root)."""
    if os.geteuid() != 0:
        return {}
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        unavailable("the tests run as root and there is no postgres user to run PostgreSQL as")
    return {"user": owner.pw_uid, "group": owner.pw_gid}


class PrivatePostgres:
    """An initdb'd cluster in a temporary folder; `url` leads to its `shelf` database."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/shelf"
        self.process: subprocess.Popen[bytes] | None = None
        self._owner = _as_owner()

    @property
    def conninfo(self) -> str:
        """The libpq connection string of its `shelf` database."""
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=shelf connect_timeout=3"

    def init(self) -> None:
        if self._owner:
            os.chown(self.directory, int(self._owner["user"]), int(self._owner["group"]))  # type: ignore[call-overload]
        subprocess.run(
            [_binary("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **self._owner,  # type: ignore[arg-type]
        )

    def start(self) -> None:
        """Start the server and wait until it answers (creating `shelf` on the first start)."""
        self.process = subprocess.Popen(
            [
                _binary("postgres"),
                *("-D", str(self.data), "-p", str(self.port), "-h", "127.0.0.1"),
                *("-k", str(self.directory), "-c", "fsync=off", "-c", "max_connections=200"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            **self._owner,  # type: ignore[arg-type]
        )
        admin = self.conninfo.replace("dbname=shelf", "dbname=postgres")
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(admin, autocommit=True) as connection:
                    exists = connection.execute(
                        "SELECT 1 FROM pg_database WHERE datname = 'shelf'"
                    ).fetchone()
                    if not exists:
                        connection.execute("CREATE DATABASE shelf")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError("private PostgreSQL did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        """A fast shutdown (SIGINT), as an operator's `pg_ctl stop -m fast`."""
        if self.process is not None:
            self.thaw()
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=30)
            self.process = None

    def _pids(self) -> list[int]:
        assert self.process is not None
        children = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        return [self.process.pid, *map(int, children)]

    def freeze(self) -> None:
        """SIGSTOP the postmaster and every backend: the host hangs, TCP still accepts."""
        for pid in self._pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process is None:
            return
        for pid in self._pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def terminate_connections(self) -> int:
        """`pg_terminate_backend` on every client connection but this one; how many went."""
        with psycopg.connect(self.conninfo, autocommit=True) as connection:
            row = connection.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
            ).fetchone()
        return int(row[0]) if row else 0


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started private PostgreSQL, stopped and removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="shelf-pg-") as folder:
        server = PrivatePostgres(Path(folder))
        server.init()
        server.start()
        try:
            yield server
        finally:
            server.stop()
