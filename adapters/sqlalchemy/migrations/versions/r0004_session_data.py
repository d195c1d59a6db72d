"""Session data and anonymous sessions (issue 15).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

- ``<prefix>session_data``: one row per key of a session's data (its canonical JSON text and
  its size), so a write touches only the keys it changes.
- ``<prefix>user_sessions``: ``user_id`` may be NULL (a visitor's session);
  ``persistent_cookie`` (false: a browser-session cookie) and ``data_bytes`` (the data's size)
  are new, with server defaults ``true`` and ``0`` (what the existing sessions get, and any
  row written by a tool that predates this revision). Every stored session is kept.
- ``<prefix>outbox``: ``user_id`` may be NULL (Redis work owed for a visitor's session).

On SQLite, ``batch_alter_table`` rebuilds a table to change a column, copying its rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from platform_sessions.adapters.sqlalchemy.migrations import table_prefix

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``<prefix>session_data``; widen ``user_sessions`` and ``outbox`` as above."""
    prefix = table_prefix()
    sessions = f"{prefix}user_sessions"
    data = f"{prefix}session_data"
    with op.batch_alter_table(sessions) as batch:
        batch.alter_column("user_id", existing_type=sa.String(255), nullable=True)
        batch.add_column(
            sa.Column("persistent_cookie", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("data_bytes", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table(f"{prefix}outbox") as batch:
        batch.alter_column("user_id", existing_type=sa.String(255), nullable=True)
    op.create_table(
        data,
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("key", sa.String(256), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", "key", name=f"pk_{data}"),
    )


def downgrade() -> None:
    """Drop the data (and visitors' sessions, which the older schema cannot hold)."""
    prefix = table_prefix()
    sessions = f"{prefix}user_sessions"
    op.drop_table(f"{prefix}session_data")
    op.execute(sa.text(f"DELETE FROM {prefix}outbox WHERE user_id IS NULL"))
    with op.batch_alter_table(f"{prefix}outbox") as batch:
        batch.alter_column("user_id", existing_type=sa.String(255), nullable=False)
    op.execute(sa.text(f"DELETE FROM {sessions} WHERE user_id IS NULL"))
    with op.batch_alter_table(sessions) as batch:
        batch.drop_column("data_bytes")
        batch.drop_column("persistent_cookie")
        batch.alter_column("user_id", existing_type=sa.String(255), nullable=False)
