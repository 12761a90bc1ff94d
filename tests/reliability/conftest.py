"""Marks every test in this folder `reliability`, and gives them private servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.factories import migrate
from tests.support.private_postgres import PrivatePostgres, private_postgres
from tests.support.private_redis import PrivateRedis
from tests.support.servers import ServerProcess, Servers

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.reliability)


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL of the test's own, which it may stop, freeze and cut off."""
    with private_postgres() as server:
        yield server


@pytest.fixture
def production_server(
    postgres: PrivatePostgres, private_redis: PrivateRedis, tmp_path: Path
) -> Iterator[Callable[..., ServerProcess]]:
    """Start `shelf serve` (granian, 2 workers) on the private PostgreSQL and Redis."""
    migrate(postgres.url)
    servers = Servers(tmp_path)

    def start(**env: str) -> ServerProcess:
        # The load of a fault test comes from one address, far past the default limit.
        defaults = {"DEFAULT_RATE_LIMIT": "1000000"}
        return servers.start(
            **{"DATABASE_URL": postgres.url, "REDIS_URL": private_redis.url, **defaults, **env}
        )

    yield start
    servers.kill_all()
