"""`shelf worker`: the background job worker (RQ), running jobs in the app's context."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from redis import Redis
from rq import Worker

from shelf.config import Settings

__all__ = ["WORKER_SOCKET_TIMEOUT", "worker"]

WORKER_SOCKET_TIMEOUT = 500  # seconds; longer than RQ's 405 s blocking dequeue


@click.command()
@click.option("--burst", is_flag=True, help="Exit once the queues are empty.")
@click.option("--queue", "queues", multiple=True, default=["default"], show_default=True)
@with_appcontext
def worker(burst: bool, queues: list[str]) -> None:
    """Run a background job worker (RQ) on REDIS_URL."""
    settings: Settings = current_app.extensions["shelf.settings"]
    if not settings.redis_url:
        raise click.ClickException("the worker needs Redis: set REDIS_URL (or REDIS_HOST)")
    # Blocking dequeues wait up to RQ's own dequeue timeout, so the socket may wait longer
    # than the app's Redis client (short timeouts, for requests) allows.
    connection = Redis.from_url(
        settings.redis_url, socket_timeout=WORKER_SOCKET_TIMEOUT, socket_connect_timeout=5
    )
    Worker(list(queues), connection=connection).work(burst=burst, with_scheduler=not burst)
