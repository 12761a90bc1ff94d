"""api keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 16:50:38.912976
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shelf.core.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("scopes", sa.String(length=500), nullable=False),
        sa.Column("created_at", shelf.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", shelf.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", shelf.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", shelf.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_owner"), ["owner"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_owner"))

    op.drop_table("api_keys")
