"""The `shelf` command: Flask's CLI for the app, plus the project's commands on `app.cli`.

`shelf routes`, `shelf shell` and the other Flask built-ins run on the app `create_cli_app`
builds from the environment; so do the project's commands (db, seed, apikeys, worker, openapi),
which `register_commands` adds to that app's `app.cli`. `shelf serve` is a command of the group
itself, like Flask's `run`: it sets PROMETHEUS_MULTIPROC_DIR before prometheus_client is
imported, so nothing here imports `shelf.app` or `shelf.server` at module level.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from shelf.cli.apikeys import apikeys
from shelf.cli.clients import clients
from shelf.cli.database import MIGRATIONS, db_group
from shelf.cli.idempotency import idempotency
from shelf.cli.openapi import openapi
from shelf.cli.seed import seed
from shelf.cli.serve import serve
from shelf.cli.settings import load_settings
from shelf.cli.users import users
from shelf.cli.worker import worker

__all__ = ["MIGRATIONS", "create_cli_app", "load_settings", "main", "register_commands"]

PROJECT_COMMANDS = (apikeys, clients, db_group, idempotency, openapi, seed, users, worker)


def register_commands(app: Flask) -> None:
    """Add the project's commands to `app.cli`."""
    for command in PROJECT_COMMANDS:
        app.cli.add_command(command)


def create_cli_app() -> Flask:
    """The app `shelf` runs its commands in: settings from the environment, commands added."""
    # Not at module level: shelf.app imports prometheus_client (see serve.py's docstring).
    from shelf.app import create_app

    app = create_app(load_settings())
    register_commands(app)
    return app


# Settings reads `.env` itself; Flask's dotenv loading would also export it to the server's
# workers and everything they start.
@click.group(cls=FlaskGroup, create_app=create_cli_app, load_dotenv=False)
def main() -> None:
    """Shelf: a library catalogue REST API."""


main.add_command(serve)
