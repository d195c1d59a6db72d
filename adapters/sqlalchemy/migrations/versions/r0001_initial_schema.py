"""The first schema: platform connections and user sessions.

Revision ID: 0001
Revises:
Create Date: 2026-05-04

Written out in full rather than derived from the models: a revision must keep meaning what
it meant when it shipped, whatever the models become.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from platform_sessions.adapters.sqlalchemy.migrations import table_prefix

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create both tables and their indexes under the configured prefix."""
    prefix = table_prefix()
    platforms = f"{prefix}platform_connections"
    sessions = f"{prefix}user_sessions"

    op.create_table(
        platforms,
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("platform_type", sa.String(32), nullable=False),
        sa.Column("instance_url", sa.String(2048), nullable=False),
        sa.Column("username", sa.String(255), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        _timestamp("last_used_at", nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{platforms}"),
    )
    op.create_index(f"ix_{platforms}_user_id", platforms, ["user_id"])
    # At most one default platform per user, enforced by the database.
    op.create_index(
        f"ux_{platforms}_one_default",
        platforms,
        ["user_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
        sqlite_where=sa.text("is_default"),
    )

    op.create_table(
        sessions,
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("token_digest", sa.String(64), nullable=False),
        sa.Column("token_routing_tag", sa.String(8), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("active_platform_id", sa.String(255), nullable=True),
        _timestamp("created_at"),
        _timestamp("last_seen_at"),
        _timestamp("absolute_expires_at"),
        _timestamp("expires_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(255), nullable=False),
        sa.Column("user_agent", sa.String(512), nullable=False),
        sa.Column("ip_address", sa.String(64), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=f"pk_{sessions}"),
        sa.UniqueConstraint("token_digest", name=f"uq_{sessions}_token_digest"),
    )
    op.create_index(f"ix_{sessions}_user_id", sessions, ["user_id"])
    op.create_index(f"ix_{sessions}_expires_at", sessions, ["expires_at"])


def downgrade() -> None:
    """Drop both tables (and with them every session and platform connection)."""
    prefix = table_prefix()
    op.drop_table(f"{prefix}user_sessions")
    op.drop_table(f"{prefix}platform_connections")
