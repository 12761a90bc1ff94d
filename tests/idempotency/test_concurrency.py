"""Concurrent retries of one request on PostgreSQL, against the production server.

Twenty threads send the same POST with the same key at once, several rounds: exactly one item
is created, and every other answer is its byte-identical replay or a 409 "in flight"; the
requests answered 409 never ran the change (the advisory lock turned them away first).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import create_engine, select, text

from shelf.content_templates.models import Template
from shelf.models import Base
from tests.support.resources import TEMPLATES, new_template
from tests.support.servers import ServerProcess

CLIENTS = 20
ROUNDS = 3


@pytest.fixture
def postgres_server(
    postgresql_url: str, start_server: Callable[..., ServerProcess]
) -> Iterator[ServerProcess]:
    """Four workers of eight threads on PostgreSQL; the tables emptied afterwards."""
    yield start_server(
        DATABASE_URL=postgresql_url,
        WEB_CONCURRENCY="4",
        WEB_THREADS="8",
        DB_POOL_SIZE="8",
        DEFAULT_RATE_LIMIT="10000",
    )
    engine = create_engine(postgresql_url)
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


def _rows_named(database_url: str, name: str) -> list[int]:
    """The row numbers (`tidx`) of the templates called `name`."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = list(connection.scalars(select(Template.tidx).where(Template.name == name)))
    engine.dispose()
    return rows


def _send_together(
    server: ServerProcess, key: str, body: dict[str, str]
) -> list[requests.Response]:
    start = threading.Barrier(CLIENTS)
    headers = {"X-API-KEY": server.admin_key, "Idempotency-Key": key}

    def send() -> requests.Response:
        with requests.Session() as session:  # a connection of its own
            start.wait(timeout=30)
            return session.post(f"{server.url}{TEMPLATES}", json=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(lambda _: send(), range(CLIENTS)))


@pytest.mark.server
def test_concurrent_retries_create_one_item(postgres_server: ServerProcess) -> None:
    rows: list[int] = []
    for round_number in range(ROUNDS):
        name, key = f"Round {round_number}", str(uuid.uuid4())
        answers = _send_together(postgres_server, key, new_template(name=name))
        created = [a for a in answers if a.status_code == 201]
        first = [a for a in created if "Idempotent-Replayed" not in a.headers]
        assert len(first) == 1, [(a.status_code, a.text) for a in answers]
        replays = [a for a in created if a.headers.get("Idempotent-Replayed") == "true"]
        in_flight = [a for a in answers if a.status_code == 409]
        assert len(first) + len(replays) + len(in_flight) == CLIENTS, [
            (a.status_code, a.text) for a in answers
        ]
        for replay in replays:
            assert replay.content == first[0].content
            assert replay.headers["Location"] == first[0].headers["Location"]
            assert replay.headers["ETag"] == first[0].headers["ETag"]
        for conflict in in_flight:
            assert conflict.json()["code"] == "IDEMPOTENCY_KEY_IN_FLIGHT"
            assert conflict.headers["Retry-After"] == "1"
        (row,) = _rows_named(postgres_server.database_url, name)
        rows.append(row)
        # Once the first has finished, a retry is always its replay.
        late = requests.post(
            f"{postgres_server.url}{TEMPLATES}",
            json=new_template(name=name),
            headers={"X-API-KEY": postgres_server.admin_key, "Idempotency-Key": key},
            timeout=30,
        )
        assert late.headers["Idempotent-Replayed"] == "true"
        assert late.content == first[0].content
    # The requests answered 409 never ran: no INSERT of theirs took a number of the sequence.
    assert rows == list(range(rows[0], rows[0] + ROUNDS))
