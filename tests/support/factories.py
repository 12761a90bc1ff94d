"""Settings, migrated databases and API keys for tests."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from click.testing import CliRunner
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from shelf.auth import api_keys
from shelf.cli import MIGRATIONS, main
from shelf.config import Settings
from shelf.extensions import db
from shelf.models import Base

__all__ = [
    "UNREACHABLE_DATABASE_URL",
    "empty_tables",
    "key_id",
    "make_key",
    "make_settings",
    "migrate",
    "shelf_cli",
]

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
        "password_hash_memory_kib": 1024,  # the production cost is 64 MiB and ~0.1 s a hash
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def migrate(url: str) -> None:
    """Bring the database at `url` to the newest migration."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    engine.dispose()


def empty_tables(url: str) -> None:
    """Delete every row of the app's tables, in an app context on the database at `url`.

    DELETE, not TRUNCATE: on tables this small PostgreSQL deletes several times faster.
    """
    assert db.engine.url.database == make_url(url).database, "not the app context's database"
    with db.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


def make_key(url: str, *scopes: str) -> str:
    """Issue an API key straight into the database at `url`; its secret."""
    engine = create_engine(url)
    with Session(engine) as session:
        secret = api_keys.create_key(session, owner="tests", scopes=list(scopes)).secret
    engine.dispose()
    return secret


def shelf_cli(args: list[str], database_url: str) -> str:
    """Run a `shelf` command on the database at `url`, as an operator would; its output."""
    result = CliRunner().invoke(
        main, args, env={"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    )
    assert result.exit_code == 0, result.output
    return result.output


def key_id(listing: str, owner: str) -> str:
    """The id of `owner`'s key in the output of `shelf apikeys list`."""
    (found,) = [line.split("\t")[0] for line in listing.splitlines() if f"\t{owner}\t" in line]
    return found
