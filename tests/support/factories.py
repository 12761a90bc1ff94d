"""Settings, migrated databases and API keys for tests."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from shelf.auth import api_keys
from shelf.cli import MIGRATIONS
from shelf.config import Settings
from shelf.extensions import db
from shelf.models import Base

__all__ = ["UNREACHABLE_DATABASE_URL", "empty_tables", "make_key", "make_settings", "migrate"]

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
