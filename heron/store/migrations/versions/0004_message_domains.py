"""message_domains: the organisational domains each stored message links to, filled
for the messages already stored from their facts.

Revision ID: 0004
Revises: 0003
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Link domains kept per message, as heron keeps when it stores one.
MAX_DOMAINS = 500


def upgrade() -> None:
    table = op.create_table(
        "message_domains",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "message_sha256",
            sa.String(length=64),
            sa.ForeignKey("messages.sha256"),
            nullable=False,
        ),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.UniqueConstraint("message_sha256", "domain", name="uq_message_domain"),
    )
    op.create_index(
        "ix_message_domains_message_sha256", "message_domains", ["message_sha256"]
    )
    op.create_index("ix_message_domains_domain", "message_domains", ["domain"])
    from heron.domain.names import organisational_domain

    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT sha256, facts FROM messages"))
    for sha256, facts in rows:
        if isinstance(facts, str):
            try:
                facts = json.loads(facts)
            except ValueError:
                continue
        urls = facts.get("urls", []) if isinstance(facts, dict) else []
        hosts = {u.get("host", "") for u in urls if isinstance(u, dict)}
        domains = sorted({organisational_domain(h) for h in hosts if h} - {""})
        if domains:
            op.bulk_insert(
                table,
                [
                    {"message_sha256": sha256, "domain": d[:255]}
                    for d in domains[:MAX_DOMAINS]
                ],
            )


def downgrade() -> None:
    op.drop_index("ix_message_domains_domain", "message_domains")
    op.drop_index("ix_message_domains_message_sha256", "message_domains")
    op.drop_table("message_domains")
