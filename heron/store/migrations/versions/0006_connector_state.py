"""Connector state: how far incremental ingest has read each mailbox, and the
forwarding rules and delegations scans have seen on mailboxes.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_state",
        sa.Column("connector", sa.String(length=32), primary_key=True),
        sa.Column("mailbox", sa.String(length=320), primary_key=True),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "mailbox_settings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mailbox", sa.String(length=320), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ident", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("mailbox", "kind", "ident", name="uq_mailbox_setting"),
    )
    op.create_index("ix_mailbox_settings_mailbox", "mailbox_settings", ["mailbox"])


def downgrade() -> None:
    op.drop_index("ix_mailbox_settings_mailbox", "mailbox_settings")
    op.drop_table("mailbox_settings")
    op.drop_table("sync_state")
