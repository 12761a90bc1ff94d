"""templates

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


def upgrade() -> None:
    op.create_table(
        "templates",
        sa.Column("tidx", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("templateid", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), server_default="", nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("content", sa.Text(), server_default="", nullable=False),
        sa.Column("created", shelf.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", shelf.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tidx", name=op.f("pk_templates")),
        sa.UniqueConstraint("templateid", name=op.f("uq_templates_templateid")),
    )


def downgrade() -> None:
    op.drop_table("templates")
