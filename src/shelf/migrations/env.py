"""Alembic environment: migrations run on the connection or URL that `shelf db` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, text

from shelf.core.db import schema_filter
from shelf.models import Base

config = context.config
target_metadata = Base.metadata
# Replicas that start together (a Nomad group, compose scale) may all run `shelf db upgrade`:
# on PostgreSQL the first takes this lock and the others wait, then find nothing left to do.
MIGRATION_LOCK_ID = 0x5E1F


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
        include_object=schema_filter(connection.dialect.name),
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        context.run_migrations()


run_migrations()
