"""The `shelf` command: Flask's CLI with migrations, drift, seed data, keys and the spec."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from apiflask import APIFlask
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, func, make_url, select

from shelf.app import create_app
from shelf.books.models import Book
from shelf.cli import main, register_commands
from shelf.core.db import schema_filter
from shelf.models import Base
from tests.support.factories import make_settings
from tests.support.services import empty_postgresql_database

SHELF = Path(sys.executable).with_name("shelf")


def invoke(app: APIFlask, *args: str, stdin: str | None = None) -> Result:
    """Run `shelf ARGS` on `app`, as the `shelf` script runs it on the app it builds."""
    register_commands(app)
    return app.test_cli_runner().invoke(main, list(args), input=stdin)


def run(app: APIFlask, *args: str) -> str:
    """The output of `shelf ARGS` on `app`, which must succeed."""
    result = invoke(app, *args)
    assert result.exit_code == 0, result.output
    return result.output


def app_on(url: str) -> APIFlask:
    """An app on the database at `url`, as `create_app` builds it."""
    return create_app(make_settings(database_url=url))


def test_upgrade_and_seed_run_twice_cleanly(app: APIFlask, database_url: str) -> None:
    run(app, "db", "upgrade")
    run(app, "db", "upgrade")
    run(app, "seed")
    assert "seeded 0 book(s)" in run(app, "seed")
    engine = create_engine(database_url)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Book)) == 10
    engine.dispose()


def test_models_and_migrations_do_not_drift(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        options = {"include_object": schema_filter(connection.dialect.name)}
        context = MigrationContext.configure(connection, opts=options)
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def test_db_check_passes_on_a_fresh_database(tmp_path: Path) -> None:
    app = app_on(f"sqlite:///{tmp_path / 'new' / 'fresh.db'}")  # a folder that is not there yet
    run(app, "db", "upgrade")
    run(app, "db", "check")
    assert run(app, "db", "current").strip().endswith("(head)")


def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    app = app_on(f"sqlite:///{tmp_path / 'roundtrip.db'}")
    run(app, "db", "upgrade")
    run(app, "db", "downgrade", "base")
    assert run(app, "db", "current").strip() == ""
    run(app, "db", "upgrade")


def test_openapi_command_writes_the_spec(tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    run(app_on(f"sqlite:///{tmp_path / 'x.db'}"), "openapi", "-o", str(target))
    assert json.loads(target.read_text())["openapi"].startswith("3.1")


def test_openapi_command_prints_the_spec_alone() -> None:
    assert json.loads(run(create_app(make_settings()), "openapi"))["openapi"].startswith("3.1")


def test_apikeys_create_prints_the_secret_alone_on_stdout(app: APIFlask) -> None:
    args = ["apikeys", "create", "--owner", "x", "--scopes", "admin", "--expires-in", "90d"]
    result = invoke(app, *args)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("shelf_")
    assert len(result.stdout.splitlines()) == 1
    assert "owner=x scopes=admin" in result.stderr


def test_help_lists_the_project_and_the_flask_commands() -> None:
    listed = run(create_app(make_settings()), "--help")
    for name in ("serve", "db", "seed", "apikeys", "worker", "openapi", "routes", "shell"):
        assert f"\n  {name} " in listed


def test_routes_lists_the_api_routes() -> None:
    listed = run(create_app(make_settings()), "routes")
    assert "books.list_books" in listed
    assert "/api/v1/books " in listed


def test_shell_runs_in_the_app_context(monkeypatch: pytest.MonkeyPatch) -> None:
    # The interpreter's hook would set up readline and write ~/.python_history at exit.
    monkeypatch.delattr(sys, "__interactivehook__", raising=False)
    result = invoke(create_app(make_settings()), "shell", stdin="print(app.name, 6 * 7)\n")
    assert result.exit_code == 0, result.output
    assert "shelf 42" in result.stdout
    assert "App: shelf" in result.stderr


def test_shelf_builds_its_app_without_flask_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [name for name in os.environ if name.startswith("FLASK_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no `.env`, no `.flaskenv`
    result = CliRunner().invoke(
        main, ["routes"], env={"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    )
    assert result.exit_code == 0, result.output
    assert "/api/v1/books " in result.stdout


# `serve` fails before any app is built; `routes` while FlaskGroup builds the app.
@pytest.mark.parametrize("args", [["serve"], ["routes"]])
def test_an_invalid_environment_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # an empty folder: no `.env` to read
    result = CliRunner().invoke(main, args, env={"PORT": "0"})
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "shelf: invalid configuration: PORT: Input should be greater than or equal to 1"
    ]


# Run as `python -c`: stops the process at its first import of prometheus_client and prints
# the metrics folder that import would have found.
PROBE = """
import os, sys
from importlib.abc import MetaPathFinder

class Probe(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "prometheus_client":
            print(os.environ.get("PROMETHEUS_MULTIPROC_DIR", ""), flush=True)
            os._exit(0)

sys.meta_path.insert(0, Probe())
from shelf.cli import main
main(["serve"])
"""


def test_serve_sets_the_metrics_folder_before_prometheus_client_is_imported(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'x.db'}"
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    folder = done.stdout.strip()
    assert folder
    assert Path(folder).is_dir()


def test_replicas_migrating_at_once_all_succeed() -> None:
    """Replicas migrating together: one migrates, the others wait, then find nothing to do."""
    with empty_postgresql_database() as url:
        env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
        upgrades = [
            subprocess.Popen([SHELF, "db", "upgrade"], env=env, stderr=subprocess.PIPE, text=True)
            for _ in range(3)
        ]
        for upgrade in upgrades:
            _, errors = upgrade.communicate(timeout=60)
            assert upgrade.returncode == 0, errors
        run(app_on(url), "db", "check")


def test_a_database_that_does_not_exist_is_one_line_naming_it(postgresql_url: str) -> None:
    url = make_url(postgresql_url).set(database="shelf_no_such_database")
    missing = url.render_as_string(hide_password=False)
    result = CliRunner().invoke(main, ["db", "upgrade"], env={"DATABASE_URL": missing})
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert 'database "shelf_no_such_database" does not exist' in line
    assert "DATABASE_URL" in line


def test_a_port_in_use_is_one_line_naming_it(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "PORT": str(port)}
        env |= {"HOST": "127.0.0.1"}
        done = subprocess.run([SHELF, "serve"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert f"cannot listen on 127.0.0.1:{port}" in line
    assert "PORT" in line
