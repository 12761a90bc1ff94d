"""templates: indexes in list order (sort field, then tidx), as books have since 0004

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 17:59:32.287287
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.create_index("ix_templates_created_tidx", ["created", "tidx"], unique=False)
        batch_op.create_index("ix_templates_modified_tidx", ["modified", "tidx"], unique=False)
        batch_op.create_index("ix_templates_name_tidx", ["name", "tidx"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.drop_index("ix_templates_name_tidx")
        batch_op.drop_index("ix_templates_modified_tidx")
        batch_op.drop_index("ix_templates_created_tidx")
