"""Who is executing an action and when it last recorded an outcome, so that a
second execution is refused while the first is alive.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "actions",
        sa.Column("run_by", sa.String(length=255), nullable=False, server_default=""),
    )
    op.add_column(
        "actions", sa.Column("run_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("actions", "run_at")
    op.drop_column("actions", "run_by")
