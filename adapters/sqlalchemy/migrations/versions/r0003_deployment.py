"""Facts about the deployment kept beside the data: the routing key's fingerprint.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

A process started with another routing key than the one the data was written with would find
none of the others' sessions in Redis; the fingerprint (never the key) stored here lets it
refuse to start instead (see architecture.md, "Configuration and health").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from platform_sessions.adapters.sqlalchemy.migrations import table_prefix

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``<prefix>deployment`` (name, value)."""
    deployment = f"{table_prefix()}deployment"
    op.create_table(
        deployment,
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("name", name=f"pk_{deployment}"),
    )


def downgrade() -> None:
    """Drop ``<prefix>deployment`` (a later process writes the fingerprint again)."""
    op.drop_table(f"{table_prefix()}deployment")
