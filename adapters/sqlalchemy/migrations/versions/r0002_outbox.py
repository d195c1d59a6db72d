"""The transactional outbox of the two-tier storage (Redis in front of the database).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

A row records Redis work that a committed change still owes; it is written in the change's own
transaction and deleted once Redis has been brought in line (see architecture.md, "Two tiers").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from platform_sessions.adapters.sqlalchemy.migrations import table_prefix

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``<prefix>outbox`` and its index on ``created_at`` (the relay's order and the age)."""
    outbox = f"{table_prefix()}outbox"
    op.create_table(
        outbox,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("token_digest", sa.String(64), nullable=True),
        sa.Column("token_routing_tag", sa.String(8), nullable=True),
        sa.Column("absolute_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{outbox}"),
    )
    op.create_index(f"ix_{outbox}_created_at", outbox, ["created_at"])


def downgrade() -> None:
    """Drop the outbox (any Redis work it still recorded is forgotten)."""
    op.drop_table(f"{table_prefix()}outbox")
