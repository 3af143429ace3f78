"""People and tokens, the hash-chained audit trail, automation rules, the activity
feed, scheduled jobs, notifications, who started an investigation and who proposed
an action, and when retention purged a message's raw bytes.

Revision ID: 0008
Revises: 0007
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

NOW = sa.text("CURRENT_TIMESTAMP")


def _when(name: str, nullable: bool = False) -> Any:
    if nullable:
        return sa.Column(name, sa.DateTime(timezone=True), nullable=True)
    return sa.Column(
        name, sa.DateTime(timezone=True), nullable=False, server_default=NOW
    )


def upgrade() -> None:
    op.add_column(
        "investigations",
        sa.Column("started_by", sa.String(255), nullable=False, server_default=""),
    )
    op.add_column(
        "actions",
        sa.Column("proposed_by", sa.String(255), nullable=False, server_default=""),
    )
    op.add_column("messages", _when("raw_purged_at", nullable=True))
    op.add_column("investigations", _when("purged_at", nullable=True))
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("purge", sa.Boolean, nullable=False, server_default=sa.false()),
        _when("created_at"),
        sa.Column("created_by", sa.String(255), nullable=False, server_default=""),
        _when("disabled_at", nullable=True),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False, server_default=""),
        _when("created_at"),
        _when("last_used_at", nullable=True),
        _when("revoked_at", nullable=True),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.create_table(
        "audit_trail",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        _when("occurred_at"),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("verb", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(255), nullable=False, server_default=""),
        sa.Column("investigation_id", sa.Integer, nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_trail_occurred_at", "audit_trail", ["occurred_at"])
    op.create_index("ix_audit_trail_verb", "audit_trail", ["verb"])
    op.create_index(
        "ix_audit_trail_investigation_id", "audit_trail", ["investigation_id"]
    )
    op.create_table(
        "audit_trail_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("hash", sa.String(64), nullable=False, server_default=""),
    )
    op.execute("INSERT INTO audit_trail_head (id, seq, hash) VALUES (1, 0, '')")
    op.create_table(
        "automation_rules",
        sa.Column("action_type", sa.String(32), primary_key=True),
        sa.Column("level", sa.String(16), nullable=False, server_default="off"),
        sa.Column("limits", sa.JSON, nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=False, server_default=""),
        _when("updated_at"),
    )
    op.create_table(
        "activity_blobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("content_id", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "content_type",
            sa.String(32),
            nullable=False,
            server_default="Audit.General",
        ),
        _when("created_at"),
        sa.Column("records", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_activity_blobs_created_at", "activity_blobs", ["created_at"])
    op.create_table(
        "activity_records",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("record_id", sa.String(36), nullable=False, unique=True),
        sa.Column("investigation_id", sa.Integer, nullable=False),
        sa.Column("record_type", sa.Integer, nullable=False),
        sa.Column("signature", sa.String(64), nullable=False),
        _when("created_at"),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column(
            "blob_id", sa.Integer, sa.ForeignKey("activity_blobs.id"), nullable=True
        ),
    )
    op.create_index(
        "ix_activity_records_investigation_id", "activity_records", ["investigation_id"]
    )
    op.create_index("ix_activity_records_blob_id", "activity_records", ["blob_id"])
    op.create_table(
        "activity_subscriptions",
        sa.Column("content_type", sa.String(32), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="enabled"),
        sa.Column("webhook", sa.JSON, nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=False, server_default=""),
        _when("updated_at"),
    )
    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("runner", sa.String(255), nullable=False, server_default=""),
        _when("started_at", nullable=True),
        _when("ended_at", nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False, server_default=""),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.Column("runs", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(40), nullable=False, unique=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="queued"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        _when("next_attempt_at"),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        _when("created_at"),
        _when("sent_at", nullable=True),
    )
    op.create_index(
        "ix_notifications_due", "notifications", ["status", "next_attempt_at"]
    )


def downgrade() -> None:
    for table in (
        "notifications",
        "job_runs",
        "activity_subscriptions",
        "activity_records",
        "activity_blobs",
        "automation_rules",
        "audit_trail_head",
        "audit_trail",
        "api_tokens",
        "users",
    ):
        op.drop_table(table)
    op.drop_column("investigations", "purged_at")
    op.drop_column("messages", "raw_purged_at")
    op.drop_column("actions", "proposed_by")
    op.drop_column("investigations", "started_by")
