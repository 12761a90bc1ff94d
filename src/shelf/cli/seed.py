"""`shelf seed`: the demo books; loading them twice changes nothing."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from shelf.books import service as books_service
from shelf.books.models import Book
from shelf.books.schemas import BookCreate
from shelf.cli.database import session

__all__ = ["DEMO_BOOKS", "load_demo_books", "seed"]

DEMO_BOOKS = [
    ("The Pragmatic Programmer", "David Thomas, Andrew Hunt", "9780135957059", 2019),
    ("Designing Data-Intensive Applications", "Martin Kleppmann", "9781449373320", 2017),
    ("Structure and Interpretation of Computer Programs", "Harold Abelson", "9780262510875", 1996),
    ("The Mythical Man-Month", "Frederick P. Brooks Jr.", "9780201835953", 1995),
    ("Refactoring", "Martin Fowler", "9780134757599", 2018),
    ("Site Reliability Engineering", "Betsy Beyer", "9781491929124", 2016),
    ("Clean Architecture", "Robert C. Martin", "9780134494166", 2017),
    ("Fluent Python", "Luciano Ramalho", "9781492056355", 2022),
    ("Database Internals", "Alex Petrov", "9781492040347", 2019),
    ("Release It!", "Michael T. Nygard", "9781680502398", 2018),
]


def load_demo_books(database: Session) -> int:
    """Add the demo books that are missing; return how many were added."""
    existing = set(database.scalars(select(Book.isbn)))
    added = 0
    for title, author, isbn, year in DEMO_BOOKS:
        if isbn not in existing:
            books_service.create_book(
                database,
                data=BookCreate(title=title, author=author, isbn=isbn, published_year=year),
            )
            added += 1
    return added


@click.command()
@with_appcontext
def seed() -> None:
    """Load the demo data (idempotent)."""
    with session() as database:
        added = load_demo_books(database)
    click.echo(f"seeded {added} book(s)")
