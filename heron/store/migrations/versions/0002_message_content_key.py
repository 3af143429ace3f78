"""messages.content_key: what a message says, to match copies re-encoded in transit

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(
            sa.Column(
                "content_key", sa.String(length=64), nullable=False, server_default=""
            )
        )
        batch.create_index("ix_messages_content_key", ["content_key"])


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_content_key")
        batch.drop_column("content_key")
