"""investigations.reasons and investigation_entities.reasons: why each verdict

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("investigations", "investigation_entities"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column(
                    "reasons", sa.JSON(), nullable=False, server_default=sa.text("'[]'")
                )
            )


def downgrade() -> None:
    for table in ("investigations", "investigation_entities"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("reasons")
