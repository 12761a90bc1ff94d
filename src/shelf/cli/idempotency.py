"""`shelf idempotency purge`: delete the idempotency records past their 24 hours."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from shelf.cli.database import session
from shelf.idempotency import service

__all__ = ["idempotency"]


@click.group(cls=AppGroup)
def idempotency() -> None:
    """Idempotency keys and the answers stored with them."""


@idempotency.command("purge")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=service.PURGE_BATCH,
    show_default=True,
    help="Records deleted per transaction.",
)
@click.option(
    "--max-batches",
    type=click.IntRange(min=1),
    default=None,
    help="Stop after this many batches (default: until none is left).",
)
def idempotency_purge(batch_size: int, max_batches: int | None) -> None:
    """Delete expired idempotency records, in batches; print how many."""
    with session() as database:
        deleted = service.purge_expired(database, batch_size=batch_size, max_batches=max_batches)
    click.echo(f"deleted {deleted} expired idempotency record(s)")
