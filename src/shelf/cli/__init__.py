"""The `shelf` command: serve, migrate, seed, manage API keys, print the spec."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click
from pydantic import ValidationError

from shelf.config import Settings, describe_error

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["main"]

MIGRATIONS = Path(__file__).parent.parent / "migrations"
WORKER_SOCKET_TIMEOUT = 500  # seconds; longer than RQ's 405 s blocking dequeue


def load_settings() -> Settings:
    """Settings from the environment, or exit with one line naming what is wrong."""
    try:
        return Settings()
    except ValidationError as error:
        click.echo(f"shelf: {describe_error(error)}", err=True)
        sys.exit(2)


@click.group()
def main() -> None:
    """Shelf: a library catalogue REST API."""


@main.command()
@click.option("--dev", is_flag=True, help="Run Flask's reloading development server instead.")
def serve(dev: bool) -> None:
    """Start the HTTP server (granian, or SERVER=gunicorn; workers from WEB_CONCURRENCY)."""
    settings = load_settings()
    if dev:
        from shelf.app import create_app

        create_app(settings).run(host=settings.host, port=settings.port, debug=True)
        return
    prepare_metrics_dir()
    from shelf.server import serve as run_server

    run_server(settings)


def prepare_metrics_dir() -> None:
    """Give the server's workers an empty folder to share metrics through.

    Set before prometheus_client is imported. A folder named by PROMETHEUS_MULTIPROC_DIR is
    created when missing (an empty volume) and emptied of an earlier run's files, as
    prometheus_client requires.
    """
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="shelf-metrics-")
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for stale in Path(folder).glob("*.db"):
        stale.unlink(missing_ok=True)


@main.command()
@click.option("--burst", is_flag=True, help="Exit once the queues are empty.")
@click.option("--queue", "queues", multiple=True, default=["default"], show_default=True)
def worker(burst: bool, queues: list[str]) -> None:
    """Run a background job worker (RQ) on REDIS_URL."""
    from redis import Redis
    from rq import Worker

    from shelf.app import create_app

    settings = load_settings()
    if not settings.redis_url:
        raise click.ClickException("the worker needs Redis: set REDIS_URL (or REDIS_HOST)")
    # Blocking dequeues wait up to RQ's own dequeue timeout, so the socket may wait longer.
    connection = Redis.from_url(
        settings.redis_url, socket_timeout=WORKER_SOCKET_TIMEOUT, socket_connect_timeout=5
    )
    app = create_app(settings)
    with app.app_context():
        Worker(list(queues), connection=connection).work(burst=burst, with_scheduler=not burst)


@main.group()
def db() -> None:
    """Database migrations."""


def _alembic(settings: Settings, action: str, *args: object, **kwargs: object) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    from shelf.core.db import engine_options

    if settings.is_sqlite:
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    options = engine_options(settings)
    engine = create_engine(options.pop("url"), **options)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, *args, **kwargs)
    engine.dispose()


@db.command()
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    _alembic(load_settings(), "upgrade", revision)


@db.command()
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (e.g. -1 or base)."""
    _alembic(load_settings(), "downgrade", revision)


@db.command()
def current() -> None:
    """Show the applied revision."""
    _alembic(load_settings(), "current")


@db.command()
def check() -> None:
    """Fail when the models and the migrations differ."""
    _alembic(load_settings(), "check")


@db.command()
@click.option("-m", "--message", required=True, help="What the migration does.")
def revision(message: str) -> None:
    """Write a new migration from the difference between models and database."""
    _alembic(load_settings(), "revision", message=message, autogenerate=True)


@main.command()
def seed() -> None:
    """Load the demo data (idempotent)."""
    from shelf.seed import seed as load_demo_data

    with _session() as session:
        added = load_demo_data(session)
    click.echo(f"seeded {added} book(s)")


@main.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to a file.")
def openapi(output: str | None) -> None:
    """Print the OpenAPI document."""
    from shelf.app import create_app

    app = create_app(load_settings())
    with app.test_request_context():
        spec = json.dumps(app.spec, indent=2)
    if output:
        Path(output).write_text(spec + "\n")
    else:
        click.echo(spec)


@main.group()
def apikeys() -> None:
    """Issue, list and revoke API keys."""


MAX_KEY_LIFETIME = timedelta(days=36_500)


def _lifetime(ctx: click.Context, param: click.Parameter, text: str | None) -> timedelta | None:
    if text is None:
        return None
    units = {"d": "days", "h": "hours", "m": "minutes"}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isascii() or not text[:-1].isdigit():
        raise click.BadParameter("use a number and a unit: 90d, 12h or 30m")
    try:
        lifetime: timedelta | None = timedelta(**{units[text[-1]]: int(text[:-1])})
    except OverflowError:
        lifetime = None
    if lifetime is None or lifetime > MAX_KEY_LIFETIME:
        raise click.BadParameter("at most 36500d (100 years); omit --expires-in for no expiry")
    return lifetime


def _scopes(ctx: click.Context, param: click.Parameter, value: str) -> list[str]:
    from shelf.auth import api_keys as auth_service
    from shelf.core.errors import ValidationFailedError

    try:
        return auth_service.parse_scopes(value)
    except ValidationFailedError as error:
        raise click.BadParameter(error.message) from error


@apikeys.command("create")
@click.option("--owner", required=True, help="Who the key is for.")
@click.option("--scopes", required=True, callback=_scopes, help="Comma-separated scope names.")
@click.option(
    "--expires-in",
    "lifetime",
    callback=_lifetime,
    help="Lifetime such as 90d, 12h or 30m; no expiry if omitted.",
)
def apikeys_create(owner: str, scopes: list[str], lifetime: timedelta | None) -> None:
    """Issue a key; the secret is printed once, alone on the first line."""
    from shelf.auth import api_keys as auth_service

    with _session() as session:
        issued = auth_service.create_key(session, owner=owner, scopes=scopes, expires_in=lifetime)
        click.echo(issued.secret)
        expiry = issued.key.expires_at.isoformat() if issued.key.expires_at else "never"
        click.echo(
            f"id={issued.key.id} owner={owner} scopes={','.join(scopes)} expires={expiry}"
            " (store the key now: it cannot be shown again)",
            err=True,
        )


@apikeys.command("list")
def apikeys_list() -> None:
    """List keys (never their secrets)."""
    from shelf.auth import api_keys as auth_service

    with _session() as session:
        for key in auth_service.list_keys(session):
            state = "revoked" if key.revoked_at else "active"
            used = key.last_used_at.isoformat() if key.last_used_at else "never"
            expires = key.expires_at.isoformat() if key.expires_at else "never"
            click.echo(
                f"{key.id}\t{key.prefix}…\t{key.owner}\t{key.scopes.replace(' ', ',')}\t{state}"
                f"\tcreated={key.created_at.isoformat()}\tlast_used={used}\texpires={expires}"
            )


@apikeys.command("revoke")
@click.argument("key_id", type=int)
def apikeys_revoke(key_id: int) -> None:
    """Revoke a key by id; it stops working within a second everywhere."""
    from shelf.auth import api_keys as auth_service
    from shelf.core.errors import NotFoundError

    with _session() as session:
        try:
            key = auth_service.revoke_key(session, key_id=key_id)
        except NotFoundError as error:
            raise click.ClickException(error.message) from error
        click.echo(f"revoked key {key.id} ({key.owner})")


@apikeys.command("import-redis")
@click.option(
    "--scopes",
    default="templates:read,templates:write",
    show_default=True,
    callback=_scopes,
    help="Scopes for the imported keys.",
)
@click.option("--hash", "hash_name", default="sec_apikeys", show_default=True, help="Redis hash.")
def apikeys_import_redis(scopes: list[str], hash_name: str) -> None:
    """Import the plain keys of the Redis hash `sec_apikeys` (key -> owner), hashed."""
    from shelf.auth import api_keys as auth_service
    from shelf.core.redis import make_redis

    settings = load_settings()
    redis = make_redis(settings)
    if redis is None:
        raise click.ClickException("REDIS_URL (or REDIS_HOST) must point at the older deployment")
    with _session(settings) as session:
        imported, present = auth_service.import_redis_keys(
            session, redis=redis, scopes=scopes, hash_name=hash_name
        )
    click.echo(f"imported {imported} key(s); {present} already present")


@contextmanager
def _session(settings: Settings | None = None) -> Iterator[Session]:
    from shelf.app import create_app
    from shelf.extensions import db as database

    app = create_app(settings or load_settings())
    with app.app_context():
        try:
            yield database.session
        finally:
            database.session.close()
            database.engine.dispose()
