"""Fixtures: an app per database backend (SQLite always, PostgreSQL when reachable), a client.

PostgreSQL gets a database of its own for the run, migrated with the project's migrations.
With REQUIRE_SERVICES=1 an unreachable PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import redis
import requests
from alembic import command
from alembic.config import Config
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from shelf.app import create_app
from shelf.auth import api_keys as auth_service
from shelf.auth.api_keys import clear_key_cache
from shelf.cli import MIGRATIONS
from shelf.config import Settings
from shelf.extensions import db
from shelf.models import Base

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def unavailable(reason: str) -> None:
    """Skip, or fail when the run requires real services."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def migrate(url: str) -> None:
    """Bring the database at `url` to the newest migration."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'shelf.db'}"
    migrate(url)
    return url


@contextlib.contextmanager
def empty_postgresql_database() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    admin = make_url(POSTGRES_ADMIN_URL)
    name = f"shelf_test_{uuid.uuid4().hex[:10]}"
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        admin_connection = psycopg.connect(conninfo, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL is not reachable at {admin.host}:{admin.port}: {exc}")
    with admin_connection:
        admin_connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as admin_connection:
            admin_connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    with empty_postgresql_database() as url:
        migrate(url)
        yield url


UNREACHABLE_DATABASE_URL = "sqlite:////nonexistent/shelf-test.db"


def make_settings(**overrides: object) -> Settings:
    """Settings for a test: nothing read from `.env`, quiet logs.

    The default database cannot be opened, so a test that needs one must name it and never
    leans on the developer's `var/shelf.db`.
    """
    values: dict[str, object] = {
        "app_env": "test",
        "database_url": UNREACHABLE_DATABASE_URL,
        "log_level": "WARNING",
        "web_concurrency": 1,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def app(database_url: str) -> Iterator[APIFlask]:
    app = create_app(make_settings(database_url=database_url))
    yield app
    clear_key_cache()
    with app.app_context():
        _empty_tables(database_url)
        db.dispose()


def _empty_tables(url: str) -> None:
    tables = [table.name for table in Base.metadata.sorted_tables]
    with db.engine.begin() as connection:
        if url.startswith("postgresql"):
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(tables):
                connection.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def issue_key(app: APIFlask) -> Callable[..., str]:
    """Issue an API key with the given scopes and return its secret."""

    def issue(*scopes: str, owner: str = "tests") -> str:
        with app.app_context():
            return auth_service.create_key(db.session, owner=owner, scopes=list(scopes)).secret

    return issue


@pytest.fixture
def anon(app: APIFlask) -> FlaskClient:
    """A client that sends no credentials."""
    return app.test_client()


@pytest.fixture
def client(app: APIFlask, issue_key: Callable[..., str]) -> FlaskClient:
    """A client holding an `admin` API key."""
    authenticated = app.test_client()
    authenticated.environ_base["HTTP_X_API_KEY"] = issue_key("admin")
    return authenticated


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def make_key(url: str, *scopes: str) -> str:
    """Issue an API key straight into the database at `url`."""
    engine = create_engine(url)
    with Session(engine) as session:
        secret = auth_service.create_key(session, owner="tests", scopes=list(scopes)).secret
    engine.dispose()
    return secret


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
                time.sleep(0.1)
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


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start production servers on a migrated SQLite file (unless given DATABASE_URL)."""
    started: list[ServerProcess] = []

    def start(**env: str) -> ServerProcess:
        if "DATABASE_URL" not in env:
            env["DATABASE_URL"] = f"sqlite:///{tmp_path / f'server{len(started)}.db'}"
            migrate(env["DATABASE_URL"])
        base = {
            "APP_ENV": "test",
            "LOG_LEVEL": "WARNING",
            "WEB_CONCURRENCY": "2",
        }
        server = ServerProcess({**base, **env}, admin_key=make_key(env["DATABASE_URL"], "admin"))
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_url() -> str:
    """The shared Redis server; unavailable() when it does not answer."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis is not reachable at {REDIS_URL}: {exc}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own in the shared Redis, removed afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


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
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
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
                time.sleep(0.05)
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


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.close()
