"""The `shelf` command: migrations, drift, seed data and the spec."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select

from shelf.books.models import Book
from shelf.cli import main
from shelf.models import Base
from tests.conftest import empty_postgresql_database


def run(args: list[str], url: str) -> str:
    result = CliRunner().invoke(main, args, env={"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
    assert result.exit_code == 0, result.output
    return result.output


def test_upgrade_and_seed_run_twice_cleanly(database_url: str) -> None:
    run(["db", "upgrade"], database_url)
    run(["db", "upgrade"], database_url)
    run(["seed"], database_url)
    assert "seeded 0 book(s)" in run(["seed"], database_url)
    engine = create_engine(database_url)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Book)) == 10
        connection.execute(Book.__table__.delete())
        connection.commit()
    engine.dispose()


def test_models_and_migrations_do_not_drift(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_db_check_passes_on_a_fresh_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    run(["db", "upgrade"], url)
    run(["db", "check"], url)
    run(["db", "current"], url)


def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    run(["db", "upgrade"], url)
    run(["db", "downgrade", "base"], url)
    run(["db", "upgrade"], url)


def test_openapi_command_writes_the_spec(tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    run(["openapi", "-o", str(target)], f"sqlite:///{tmp_path / 'x.db'}")
    assert json.loads(target.read_text())["openapi"].startswith("3.1")


def test_replicas_migrating_at_once_all_succeed() -> None:
    """Replicas migrating together: one migrates, the others wait, then find nothing to do."""
    shelf = Path(sys.executable).with_name("shelf")
    with empty_postgresql_database() as url:
        env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
        upgrades = [
            subprocess.Popen([shelf, "db", "upgrade"], env=env, stderr=subprocess.PIPE, text=True)
            for _ in range(3)
        ]
        for upgrade in upgrades:
            _, errors = upgrade.communicate(timeout=60)
            assert upgrade.returncode == 0, errors
        run(["db", "check"], url)
