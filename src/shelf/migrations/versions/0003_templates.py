"""templates, or the older template service's table adopted as it stands

That service (MYPKG) created `templates` by hand (tidx serial, templateid uuid, name,
description and content varchar, created and modified timestamp). Pointed at its database, this
migration keeps that table and its rows: it checks the columns, fills the NULLs its DDL allowed,
and brings the types, constraints and name of the key to this revision's shape. On PostgreSQL
the columns keep the database defaults that DDL declared (`gen_random_uuid()`, `now()`), here for
a new table as well, so the older service's clients inserting rows keep working beside Shelf.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 16:57:02.867071
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shelf.core.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = {"tidx", "templateid", "name", "description", "content", "created", "modified"}
TEXTS = ("name", "description", "content")
TIMES = ("created", "modified")


def upgrade() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    if sa.inspect(bind).has_table("templates"):
        _adopt(bind)
        return
    now = sa.text("now()") if postgresql else None
    op.create_table(
        "templates",
        sa.Column("tidx", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "templateid",
            sa.Uuid(),
            server_default=sa.text("gen_random_uuid()") if postgresql else None,
            nullable=False,
        ),
        sa.Column("name", sa.Text(), server_default="", nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("content", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created", shelf.core.db.UTCDateTime(timezone=True), server_default=now, nullable=False
        ),
        sa.Column(
            "modified", shelf.core.db.UTCDateTime(timezone=True), server_default=now, nullable=False
        ),
        sa.PrimaryKeyConstraint("tidx", name=op.f("pk_templates")),
        sa.UniqueConstraint("templateid", name=op.f("uq_templates_templateid")),
    )


def _adopt(bind: sa.Connection) -> None:
    """The older service's table, brought to this revision's shape, its rows kept."""
    inspector = sa.inspect(bind)
    missing = COLUMNS - {column["name"] for column in inspector.get_columns("templates")}
    if missing:
        raise RuntimeError(
            "a templates table exists but is not the template service's: it lacks "
            f"{', '.join(sorted(missing))}; rename or drop it, then migrate again"
        )
    if bind.dialect.name != "postgresql":
        raise RuntimeError("adopting an existing templates table is supported on PostgreSQL")
    table = sa.table("templates", *(sa.column(name) for name in (*TEXTS, *TIMES)))
    for column in TEXTS:
        op.execute(sa.update(table).where(table.c[column].is_(None)).values({column: ""}))
        op.alter_column("templates", column, type_=sa.Text(), server_default="", nullable=False)
    for column in TIMES:
        op.execute(
            sa.update(table).where(table.c[column].is_(None)).values({column: sa.func.now()})
        )
        # Its timestamps carry no zone; the service wrote the database's now(), taken as UTC.
        op.alter_column(
            "templates",
            column,
            type_=sa.DateTime(timezone=True),
            postgresql_using=f"{column} AT TIME ZONE 'UTC'",
            server_default=sa.text("now()"),
            nullable=False,
        )
    op.alter_column(
        "templates", "templateid", server_default=sa.text("gen_random_uuid()"), nullable=False
    )
    key = inspector.get_pk_constraint("templates")["name"]
    if key != "pk_templates":
        op.execute(f'ALTER TABLE templates RENAME CONSTRAINT "{key}" TO pk_templates')
    op.create_unique_constraint(op.f("uq_templates_templateid"), "templates", ["templateid"])


def downgrade() -> None:
    op.drop_table("templates")
