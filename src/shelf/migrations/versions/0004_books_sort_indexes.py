"""books: indexes in list order (sort field, then id)

A page sorted by title was read through the title index and then re-sorted by id in memory
(an incremental sort of every row before the offset): 15.7 ms for page 250 of 10,000 books,
1.8 ms with (title, id).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 17:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SORTED = ("title", "author", "published_year", "created_at")
SINGLE = ("title", "author", "published_year")


def upgrade() -> None:
    with op.batch_alter_table("books", schema=None) as batch_op:
        for column in SINGLE:
            batch_op.drop_index(f"ix_books_{column}")
        for column in SORTED:
            batch_op.create_index(f"ix_books_{column}_id", [column, "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("books", schema=None) as batch_op:
        for column in SORTED:
            batch_op.drop_index(f"ix_books_{column}_id")
        for column in SINGLE:
            batch_op.create_index(f"ix_books_{column}", [column], unique=False)
