"""Fixtures: an app per database backend (SQLite always, PostgreSQL when reachable), clients,
production servers, Redis. What they are built from lives in `tests.support`.

PostgreSQL gets a database of its own for the run, migrated with the project's migrations.
With REQUIRE_SERVICES=1 an unreachable PostgreSQL or Redis fails the run instead of skipping.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from apiflask import APIFlask
from flask.testing import FlaskClient

from shelf.app import create_app
from shelf.auth import api_keys, tokens
from shelf.auth.revocation import revocations
from shelf.extensions import db
from tests.support.factories import empty_tables, make_settings, migrate
from tests.support.private_redis import PrivateRedis
from tests.support.servers import ServerProcess, Servers
from tests.support.services import empty_postgresql_database, reachable_redis


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'shelf.db'}"
    migrate(url)
    return url


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    with empty_postgresql_database() as url:
        migrate(url)
        yield url


# Tests whose logic is the same on both databases, many of them: PostgreSQL (production's) alone.
# Every resource's own and contract tests still run on both.
POSTGRESQL_ONLY = (
    "tests/oauth/",
    "tests/users/",
    "tests/apikeys/",
    "tests/contract/test_access_matrix.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the SQLite runs of the tests under POSTGRESQL_ONLY."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_sqlite = callspec is not None and callspec.params.get("database_url") == "sqlite"
        only_postgresql = item.nodeid.startswith(POSTGRESQL_ONLY)
        (dropped if on_sqlite and only_postgresql else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def app(database_url: str) -> Iterator[APIFlask]:
    """The app on each database backend, its tables emptied afterwards."""
    app = create_app(make_settings(database_url=database_url))
    yield app
    api_keys.clear_key_cache()
    tokens.clear_token_cache()
    revocations.clear()
    with app.app_context():
        empty_tables(database_url)
        db.dispose()


@pytest.fixture
def make_app(database_url: str) -> Iterator[Callable[..., APIFlask]]:
    """More apps on the test's database, with other settings; their pools closed afterwards."""
    made: list[APIFlask] = []

    def make(**settings: object) -> APIFlask:
        made.append(create_app(make_settings(database_url=database_url, **settings)))
        return made[-1]

    yield make
    for app in made:
        with app.app_context():
            db.dispose()


@pytest.fixture
def issue_key(app: APIFlask) -> Callable[..., str]:
    """Issue an API key with the given scopes and return its secret."""

    def issue(*scopes: str, owner: str = "tests") -> str:
        with app.app_context():
            return api_keys.create_key(db.session, owner=owner, scopes=list(scopes)).secret

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


@pytest.fixture
def start_server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., ServerProcess]]:
    """Start production servers (see `Servers`); only for tests marked `server`."""
    if request.node.get_closest_marker("server") is None:
        pytest.fail("a test that starts `shelf serve` must be marked @pytest.mark.server")
    servers = Servers(tmp_path)
    yield servers.start
    servers.kill_all()


@pytest.fixture
def redis_url() -> str:
    """The shared Redis server; unavailable() when it does not answer."""
    return reachable_redis()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own in the shared Redis, removed afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A redis-server of the test's own (see `PrivateRedis`), closed afterwards."""
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.close()
