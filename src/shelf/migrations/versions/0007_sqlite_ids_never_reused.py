"""SQLite: ids are never reused (AUTOINCREMENT on books, api_keys and templates)

Without AUTOINCREMENT, SQLite gives a new row the largest id in use plus one: delete the last
book (id 11, ETag "book-11-v1") and the next book is id 11 again, with the same ETag, so a
client's If-None-Match or If-Match would match a different book. PostgreSQL's sequences never
hand an id out twice; nothing changes there.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 21:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = ("books", "api_keys", "templates")


def _recreate(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        # SQLite cannot alter a table's key: batch mode copies it into a new table.
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _recreate(autoincrement=True)


def downgrade() -> None:
    _recreate(autoincrement=False)
