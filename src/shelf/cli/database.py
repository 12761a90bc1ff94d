"""`shelf db`: Alembic migrations, run on the app's database engine."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask.cli import AppGroup
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from shelf.extensions import db

__all__ = ["MIGRATIONS", "db_group", "session"]

MIGRATIONS = Path(__file__).parent.parent / "migrations"


@contextmanager
def session() -> Iterator[Session]:
    """The app's session for one command; its pooled connections are closed afterwards."""
    try:
        yield db.session
    finally:
        db.session.close()
        # A command is the app's last use in this process: leave no connection open.
        db.dispose()


@click.group("db", cls=AppGroup)
def db_group() -> None:
    """Database migrations."""


def _alembic(action: str, *args: object, **kwargs: object) -> None:
    url = db.engine.url
    if url.get_backend_name() == "sqlite" and url.database:
        # SQLite creates a missing file but not its folder (var/ on a fresh checkout).
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    # Alembic's default stdout is the one of when it was imported; print to the current one.
    config = Config(stdout=sys.stdout)
    config.set_main_option("script_location", str(MIGRATIONS))
    # The app logs INFO as JSON on stdout; Alembic's progress lines stay out of it, so that
    # `shelf db current` prints the revision alone, as it always has.
    alembic_log = logging.getLogger("alembic")
    level = alembic_log.level
    alembic_log.setLevel(max(level, logging.WARNING))
    try:
        # migrations/env.py runs on the connection it is handed, in this transaction.
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            getattr(command, action)(config, *args, **kwargs)
    except OperationalError as error:
        # The database's own words, on one line: "database "x" does not exist", "connection
        # refused"... and where it was looked for, without its password.
        reason = " ".join(str(error.orig).split()) if error.orig else str(error)
        where = url.render_as_string(hide_password=True)
        raise click.ClickException(f"{reason} (DATABASE_URL is {where})") from error
    finally:
        alembic_log.setLevel(level)
        db.dispose()


@db_group.command()
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    _alembic("upgrade", revision)


@db_group.command()
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (e.g. -1 or base)."""
    _alembic("downgrade", revision)


@db_group.command()
def current() -> None:
    """Show the applied revision."""
    _alembic("current")


@db_group.command()
def check() -> None:
    """Fail when the models and the migrations differ."""
    _alembic("check")


@db_group.command()
@click.option("-m", "--message", required=True, help="What the migration does.")
def revision(message: str) -> None:
    """Write a new migration from the difference between models and database."""
    _alembic("revision", message=message, autogenerate=True)
