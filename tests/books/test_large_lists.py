"""The books list past its small cases: NULL years in a cursor walk, the total past the counting
bound, and the indexes PostgreSQL reads each page from.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, event, insert, text

from shelf.books import service
from shelf.books.models import Book
from shelf.books.schemas import BookQuery
from shelf.core.db import utcnow
from shelf.core.pagination import COUNT_LIMIT
from tests.support.resources import BOOKS, create_book

SCANS = ("seqscan", "sort")
YEARS = [1990, None, 1990, 2001, None, 1850, 2001, None, 1990]


def walk_ids(client: FlaskClient, path: str) -> list[int]:
    ids: list[int] = []
    while True:
        body = client.get(path).get_json()
        ids += [book["id"] for book in body["items"]]
        if body["links"]["next"] is None:
            return ids
        path = urljoin(path, body["links"]["next"])


@pytest.mark.parametrize("sort", ["published_year", "-published_year", "published_year,title"])
def test_a_cursor_walk_passes_null_years_on_both_backends(client: FlaskClient, sort: str) -> None:
    for n, year in enumerate(YEARS):
        create_book(client, title=f"Book {n % 3}", published_year=year)
    whole = client.get(f"{BOOKS}?per_page=100&sort={sort}").get_json()["items"]
    years = [book["published_year"] for book in whole]
    known = [year for year in years if year is not None]
    # NULLs last going up, first going down, on SQLite as on PostgreSQL.
    if sort.startswith("-"):
        assert years == [None] * 3 + sorted(known, reverse=True)
    else:
        assert years == sorted(known) + [None] * 3
    for per_page in (1, 2, 4):
        ids = walk_ids(client, f"{BOOKS}?per_page={per_page}&sort={sort}")
        assert ids == [book["id"] for book in whole]


def add_books(url: str, count: int, author: str = "Seeder") -> None:
    engine = create_engine(url)
    now = utcnow()
    rows = [
        {"title": f"Seeded {n}", "author": author, "description": "", "copies": 1}
        | {"version": 1, "created_at": now, "updated_at": now}
        for n in range(count)
    ]
    with engine.begin() as connection:
        connection.execute(insert(Book), rows)
        if connection.dialect.name == "postgresql":
            connection.execute(text("ANALYZE books"))
    engine.dispose()


def test_past_the_counting_bound_the_total_is_marked_an_estimate(
    client: FlaskClient, database_url: str
) -> None:
    add_books(database_url, COUNT_LIMIT + 100)
    body = client.get(f"{BOOKS}?per_page=10").get_json()
    if database_url.startswith("postgresql"):
        assert body["total_exact"] is False
        assert body["total"] > COUNT_LIMIT  # the planner's estimate, at least what was counted
        assert body["links"]["last"] is None
    else:  # SQLite has no estimate: it counts
        assert body["total_exact"] is True
        assert body["total"] == COUNT_LIMIT + 100
    filtered = client.get(f"{BOOKS}?q=Seeded 10").get_json()  # 10, 100-109, 1000-1099
    assert filtered["total"] == 111
    assert filtered["total_exact"] is True


# PostgreSQL: the plan of every statement a page runs


@pytest.fixture
def postgresql(postgresql_url: str) -> Iterator[Engine]:
    """An engine on the test PostgreSQL database holding a few thousand books, emptied after."""
    add_books(postgresql_url, 3000)
    engine = create_engine(postgresql_url)
    yield engine
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE books RESTART IDENTITY CASCADE"))
    engine.dispose()


def plans(engine: Engine, query: BookQuery, *, forbid: tuple[str, ...] = SCANS) -> list[str]:
    """The plans (JSON text) of the page statements that listing `query` runs."""
    statements: list[tuple[str, Any]] = []

    def remember(conn: Any, cursor: Any, sql: str, params: Any, *args: Any) -> None:
        if not sql.startswith(("SELECT count(", "EXPLAIN")):
            statements.append((sql, params))

    event.listen(engine, "before_cursor_execute", remember)
    try:
        service.list_books(engine, query=query)
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    with engine.connect() as connection:
        # At a few thousand rows a sequential scan and a sort are cheaper; at a million they
        # are not. Forbidding them shows which index the planner reads the page from.
        for plan_kind in forbid:
            connection.exec_driver_sql(f"SET enable_{plan_kind} = off")
        found = [
            json.dumps(connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", params).scalar())
            for sql, params in statements
        ]
        connection.rollback()
    return found


def next_cursor(engine: Engine, sort: str) -> str:
    listing = service.list_books(engine, query=BookQuery(sort=sort, per_page=50))
    assert listing.next_cursor is not None
    return listing.next_cursor


@pytest.mark.parametrize("field", ["title", "author", "published_year", "created_at"])
@pytest.mark.parametrize("way", ["", "-"])
def test_every_sort_reads_a_page_as_a_range_of_its_index(
    postgresql: Engine, field: str, way: str
) -> None:
    sort = f"{way}{field}"
    first = plans(postgresql, BookQuery(sort=sort))
    walked = plans(postgresql, BookQuery(sort=sort, cursor=next_cursor(postgresql, sort)))
    index = f'"Index Name": "ix_books_{field}_id"'
    for plan in [*first, *walked]:
        assert index in plan
        assert '"Node Type": "Sort"' not in plan
    assert '"Index Cond"' in walked[0]  # the cursor bounds the scan, rather than filtering it


def test_q_reads_the_trigram_indexes(postgresql: Engine) -> None:
    # At 3,000 rows reading the list in order and filtering it is cheaper; at a million rows
    # the planner takes the trigram indexes for a selective `q` (bench/README.md).
    *_, plan = plans(postgresql, BookQuery(q="eded 2345"), forbid=("seqscan", "indexscan"))
    assert '"Index Name": "ix_books_title_trgm"' in plan
    assert '"Seq Scan"' not in plan


def test_a_filtered_page_and_its_count_are_one_round_trip(
    postgresql: Engine, postgresql_url: str
) -> None:
    add_books(postgresql_url, 111, author="Stanisław Lem")
    statements: list[str] = []
    event.listen(postgresql, "before_cursor_execute", lambda *args: statements.append(args[2]))
    listing = service.list_books(postgresql, query=BookQuery(author="Stanisław Lem", page=2))
    assert (listing.total, listing.total_exact) == (111, True)
    assert len(listing.rows) == 20
    assert len(statements) == 1, statements


def test_a_search_sorts_the_few_books_it_finds_and_walks_the_index_for_many(
    postgresql: Engine,
) -> None:
    # The planner guesses as many matches for a term in one title as for one in half of them:
    # on a million books it walked the title index for a term in one title (1.6 s). A search
    # counts first: a few are found through the trigram index and sorted, many by the walk.
    few = plans(postgresql, BookQuery(q="Seeded 12", sort="title"), forbid=("seqscan",))
    many = plans(postgresql, BookQuery(q="Seeded", sort="title"), forbid=("seqscan", "sort"))
    listing = service.list_books(postgresql, query=BookQuery(q="Seeded 12", page=2))
    assert (listing.total, listing.total_exact, len(listing.rows)) == (111, True, 20)
    page = few[-1]  # after the count
    assert '"Index Name": "ix_books_title_trgm"' in page
    assert '"Node Type": "Sort"' in page
    assert '"Index Name": "ix_books_title_id"' not in page
    assert '"Index Name": "ix_books_title_id"' in many[-1]


def test_the_trigram_indexes_keep_no_pending_list(postgresql: Engine) -> None:
    # With one, a burst of writes made every `q` read the whole list until a vacuum (16 ms).
    with postgresql.connect() as connection:
        options = dict(
            connection.execute(
                text("SELECT relname, reloptions FROM pg_class WHERE relname LIKE '%_trgm'")
            ).all()
        )
    assert set(options) == {"ix_books_title_trgm", "ix_books_author_trgm", "ix_templates_name_trgm"}
    assert all(found == ["fastupdate=off"] for found in options.values()), options
