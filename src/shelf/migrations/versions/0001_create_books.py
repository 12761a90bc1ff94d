"""create books

Revision ID: 0001
Revises:
Create Date: 2026-11-22 16:34:33.987314
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shelf.core.db

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "books",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("isbn", sa.String(length=13), nullable=True),
        sa.Column("published_year", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", shelf.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shelf.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_books")),
        sa.UniqueConstraint("isbn", name=op.f("uq_books_isbn")),
    )
    with op.batch_alter_table("books", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_books_author"), ["author"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_books_published_year"), ["published_year"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_books_title"), ["title"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("books", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_books_title"))
        batch_op.drop_index(batch_op.f("ix_books_published_year"))
        batch_op.drop_index(batch_op.f("ix_books_author"))

    op.drop_table("books")
