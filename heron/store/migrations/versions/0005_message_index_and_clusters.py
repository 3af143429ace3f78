"""The message index (the From address's organisational domain, sending ip, subject
key, body fingerprint, urls, files, verdict and threats per message) and clusters
with their members.

Messages stored before this revision keep index_version 0: ``heron reindex`` reads
them again from the blob store and fills what they lack.

Revision ID: 0005
Revises: 0004
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

MESSAGE_COLUMNS: list[tuple[str, Any, str, bool]] = [
    ("from_org", sa.String(length=255), "''", True),
    ("sending_ip", sa.String(length=45), "''", True),
    ("subject_key", sa.String(length=255), "''", True),
    ("fingerprint", sa.String(length=512), "''", False),
    ("verdict", sa.String(length=16), "'unknown'", True),
    ("threats", sa.JSON(), "'[]'", False),
    ("verdict_source", sa.Text(), "''", False),
    ("index_version", sa.Integer(), "0", False),
]


def _message_table(
    name: str, *columns: sa.Column[Any], unique: tuple[str, str]
) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "message_sha256",
            sa.String(length=64),
            sa.ForeignKey("messages.sha256"),
            nullable=False,
        ),
        *columns,
        sa.UniqueConstraint("message_sha256", unique[0], name=unique[1]),
    )
    op.create_index(f"ix_{name}_message_sha256", name, ["message_sha256"])


def upgrade() -> None:
    for name, type_, default, indexed in MESSAGE_COLUMNS:
        op.add_column(
            "messages",
            sa.Column(name, type_, nullable=False, server_default=sa.text(default)),
        )
        if indexed:
            op.create_index(f"ix_messages_{name}", "messages", [name])
    op.create_index("ix_copies_received_at", "copies", ["received_at"])
    # Post-delivery events and clicks are found again by their source key.
    op.create_index("ix_events_source", "events", ["source"])
    _message_table(
        "message_urls",
        sa.Column("url_key", sa.String(length=40), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        unique=("url_key", "uq_message_url"),
    )
    op.create_index("ix_message_urls_url_key", "message_urls", ["url_key"])
    op.create_index("ix_message_urls_host", "message_urls", ["host"])
    _message_table(
        "message_files",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        unique=("sha256", "uq_message_file"),
    )
    op.create_index("ix_message_files_sha256", "message_files", ["sha256"])
    _message_table(
        "message_bands",
        sa.Column("band", sa.BigInteger(), nullable=False),
        unique=("band", "uq_band"),
    )
    op.create_index("ix_message_bands_band", "message_bands", ["band"])
    op.create_table(
        "clusters",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ident", sa.String(length=40), nullable=False),
        sa.Column(
            "investigation_id",
            sa.Integer(),
            sa.ForeignKey("investigations.id"),
            nullable=False,
        ),
        sa.Column("source_message", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("malicious_copies", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("last_diff", sa.JSON(), nullable=False),
        sa.Column("queried_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("investigation_id", "ident", name="uq_cluster"),
    )
    op.create_index("ix_clusters_investigation_id", "clusters", ["investigation_id"])
    op.create_table(
        "cluster_members",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "cluster_id", sa.Integer(), sa.ForeignKey("clusters.id"), nullable=False
        ),
        sa.Column("copy_id", sa.Integer(), sa.ForeignKey("copies.id"), nullable=False),
        sa.Column("message_sha256", sa.String(length=64), nullable=False),
        sa.UniqueConstraint("cluster_id", "copy_id", name="uq_cluster_member"),
    )
    for column in ("cluster_id", "copy_id", "message_sha256"):
        op.create_index(f"ix_cluster_members_{column}", "cluster_members", [column])


def downgrade() -> None:
    op.drop_table("cluster_members")
    op.drop_table("clusters")
    op.drop_table("message_bands")
    op.drop_table("message_files")
    op.drop_table("message_urls")
    op.drop_index("ix_events_source", "events")
    op.drop_index("ix_copies_received_at", "copies")
    for name, _, _, indexed in reversed(MESSAGE_COLUMNS):
        if indexed:
            op.drop_index(f"ix_messages_{name}", "messages")
        op.drop_column("messages", name)
