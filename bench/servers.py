"""The system under test: a fresh database with seeded books, and servers started as deployed."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy.engine import make_url

from shelf.books.models import Book
from shelf.core import keyset

BIN = Path(sys.executable).parent
HERE = Path(__file__).parent
STAMP = "2026-01-01 00:00:00+00"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _admin_conninfo(url: str) -> tuple[str, str]:
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False), str(parsed.database)


def recreate_database(url: str) -> None:
    """Drop and create the bench database, then migrate it with the project's migrations."""
    conninfo, name = _admin_conninfo(url)
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    migrate(url)


def migrate(url: str) -> None:
    """Bring the database at `url` to the newest migration."""
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([BIN / "shelf", "db", "upgrade"], env=env, check=True, capture_output=True)


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def book_count(url: str) -> int | None:
    """How many books the database at `url` holds; None when it or its table is missing."""
    try:
        with psycopg.connect(_conninfo(url), connect_timeout=3) as conn:
            row = conn.execute("SELECT count(*) FROM books").fetchone()
    except psycopg.Error:
        return None
    return int(row[0]) if row else None


def write_cursors(url: str, books: int, sort: str, path: Path, count: int = 500) -> None:
    """Cursors (as links.next carries them) after `count` random books, one a line."""
    keys = keyset.sort_keys(Book, sort)
    ids = random.Random(7).sample(range(1, books + 1), min(count, books))
    columns = ", ".join(key.column.key for key in keys)
    with psycopg.connect(_conninfo(url)) as conn:
        cursor = conn.cursor(row_factory=namedtuple_row)
        query = f"SELECT {columns} FROM books WHERE id = ANY(%s)"  # noqa: S608 - model columns
        rows = cursor.execute(query, (ids,)).fetchall()
    path.write_text("".join(keyset.cursor_of(row, keys, sort, 2) + "\n" for row in rows))


def seed_books(url: str, count: int) -> None:
    """Load `count` books with COPY (a second or so): ids 1..count in a fresh table."""
    words = ["river", "stone", "garden", "winter", "silver", "code", "night", "paper", "lamp"]
    rng = random.Random(42)  # the same catalogue every run
    buffer = io.StringIO()
    for n in range(1, count + 1):
        title = " ".join(rng.choice(words).capitalize() for _ in range(3)) + f" {n}"
        author = f"Author {rng.randrange(1, 2000)}"
        year, copies = 1900 + n % 125, n % 7 + 1
        buffer.write(f"{title}\t{author}\t{year}\tA seeded book.\t{copies}\t1\t{STAMP}\t{STAMP}\n")
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        columns = (
            "title, author, published_year, description, copies, version, created_at, updated_at"
        )
        with conn.cursor().copy(f"COPY books ({columns}) FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE books")


def settle(url: str, quiet_load: float = 1.5, at_most: float = 60) -> None:
    """Let the machine calm down after seeding, before anything is measured.

    Seeding leaves PostgreSQL work behind (autovacuum of new rows, a checkpoint); measured
    here, the first round after it ran up to 25% slower per request than the next.
    """
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")
    deadline = time.monotonic() + at_most
    while os.getloadavg()[0] > quiet_load and time.monotonic() < deadline:
        time.sleep(2)


def create_api_key(env: dict[str, str]) -> tuple[str | None, str]:
    """A key with every scope, or None and the reason when the service has no API keys yet."""
    result = subprocess.run(
        [BIN / "shelf", "apikeys", "create", "--owner", "bench", "--scopes", "admin"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["`shelf apikeys` failed"])[-1]
        return None, reason
    return result.stdout.splitlines()[0].strip(), ""


def has_setting(name: str) -> bool:
    """True when the service reads the setting `name` (how the bench finds the response cache)."""
    from shelf.config import Settings

    return name in Settings.model_fields


class Server:
    """A server process in its own process group, stopped with everything it started."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int) -> None:
        self.name, self.port = name, port
        log_path = os.environ.get("BENCH_SERVER_LOG")
        # Request logs go where a container's stdout would; to a file only when asked for.
        self._log = open(log_path, "a") if log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            argv, env=env, stdout=self._log, stderr=self._log, start_new_session=True
        )

    def wait_ready(self, path: str, timeout: float = 30) -> None:
        """Poll `path` until it answers 200, or fail naming the server."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}")
            with contextlib.suppress(OSError):
                if request(self.port, "GET", path)[0] == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer {path} within {timeout} s")

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server's processes (its process group), reaped ones too."""
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended meanwhile
            if int(fields[2]) == self.process.pid:  # fields[2] is the process group
                total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """SIGTERM the group, as an orchestrator would; SIGKILL whatever is left after 15 s."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._log is not subprocess.DEVNULL:
            self._log.close()


def shelf_server(name: str, base_env: dict[str, str], **overrides: str) -> Server:
    """`shelf serve` in production mode: the deployed server, workers from the CPU count."""
    port = free_port()
    env = {
        **base_env,
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "SHUTDOWN_DRAIN_SECONDS": "0",  # serving is measured, not stopping
        **overrides,
    }
    server = Server(name, [str(BIN / "shelf"), "serve"], env, port)
    server.wait_ready("/readiness")
    return server


def floor_server(workers: int) -> Server:
    """The bare Flask app under granian with the service's number of workers."""
    port = free_port()
    argv = [
        str(BIN / "granian"),
        "--interface=wsgi",
        f"--workers={workers}",
        "--host=127.0.0.1",
        f"--port={port}",
        "--no-ws",
        "--log-level=warning",
        "floor_app:app",
    ]
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    server = Server("floor", argv, env, port)
    server.wait_ready("/")
    return server


def request(
    port: int,
    method: str,
    path: str,
    body: object = None,
    headers: dict[str, str] | None = None,
    *,
    form: bool = False,
) -> tuple[int, object]:
    """One HTTP request to 127.0.0.1; the status and the decoded JSON body (or None). The body
    goes as JSON, or form-encoded with `form`."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        if form and isinstance(body, dict):
            payload: bytes | None = urllib.parse.urlencode(body).encode()
            kind = "application/x-www-form-urlencoded"
        else:
            payload = json.dumps(body).encode() if body is not None else None
            kind = "application/json"
        all_headers = {"Content-Type": kind, **(headers or {})}
        conn.request(method, path, body=payload, headers=all_headers)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw) if raw else None
    except ValueError:
        return response.status, None


def seed_templates(port: int, key: str, count: int) -> list[str]:
    """Create `count` templates through the API (several at once); return their ids."""
    headers = {"X-API-KEY": key}

    def create(n: int) -> str:
        body = {"name": f"bench-{n}", "content": f"Dear {{{{name}}}}, template {n}."}
        status, data = request(port, "POST", "/api/v1/templates", body, headers)
        if status != 201 or not isinstance(data, dict):
            raise RuntimeError(f"POST /api/v1/templates answered {status}: {data}")
        for field in ("id", "templateid", "template_id"):
            if field in data:
                return str(data[field])
        raise RuntimeError("the created template has no id field")

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(create, range(count)))
