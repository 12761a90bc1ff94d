"""Fixtures of the HTTP-contract suite, for a test parametrised by `resource` (see
tests/support/contract.py): an item, a filled list, a reader, a rate-limited reader, and the
production server on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from shelf.models import Base
from tests.support.contract import LABELS
from tests.support.resources import Resource
from tests.support.servers import ServerProcess


@pytest.fixture
def existing(client: FlaskClient, resource: Resource) -> str:
    """The path of an item of `resource`, created by an admin."""
    return resource.item_path(resource.create(client))


@pytest.fixture
def listed(client: FlaskClient, resource: Resource) -> FlaskClient:
    """The admin's client, after creating an item labelled with each of LABELS, in order."""
    for label in LABELS:
        resource.create_labelled(client, label)
    return client


@pytest.fixture
def reader(app: APIFlask, resource: Resource, issue_key: Callable[..., str]) -> FlaskClient:
    """A client that may read `resource` and do no more: no key at all when reads are public."""
    reading = app.test_client()
    if resource.read_scope:
        reading.environ_base["HTTP_X_API_KEY"] = issue_key(resource.read_scope)
    return reading


@pytest.fixture
def limited(
    make_app: Callable[..., APIFlask], resource: Resource, issue_key: Callable[..., str]
) -> FlaskClient:
    """A reader of `resource` on an app that allows 3 requests a minute."""
    reading = make_app(default_rate_limit=3).test_client()
    if resource.read_scope:
        reading.environ_base["HTTP_X_API_KEY"] = issue_key(resource.read_scope)
    return reading


@pytest.fixture
def postgres_server(
    postgresql_url: str,
    redis_url: str,
    redis_prefix: str,
    start_server: Callable[..., ServerProcess],
) -> Iterator[ServerProcess]:
    """Four workers of two threads on PostgreSQL, sharing Redis; the tables emptied after."""
    yield start_server(
        DATABASE_URL=postgresql_url,
        WEB_CONCURRENCY="4",
        WEB_THREADS="2",
        REDIS_URL=redis_url,
        REDIS_KEY_PREFIX=redis_prefix,
    )
    engine = create_engine(postgresql_url)
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
