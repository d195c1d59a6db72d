"""Alembic's environment: migrate over the connection ``upgrade_database`` hands in.

No alembic.ini and no URL here: the caller owns the connection and its transaction (one
transaction for the whole upgrade, serialized against concurrent upgraders), and says which
table prefix to migrate.
"""

from __future__ import annotations

from alembic import context

from platform_sessions.adapters.sqlalchemy.migrations import CONNECTION_ATTRIBUTE, table_prefix


def run_migrations() -> None:
    """Run the pending revisions on the caller's connection, in the caller's transaction."""
    connection = context.config.attributes.get(CONNECTION_ATTRIBUTE)
    if connection is None or context.is_offline_mode():
        raise RuntimeError(
            "platform-sessions migrations run through upgrade_database(), on a live connection"
        )
    context.configure(connection=connection, version_table=f"{table_prefix()}alembic_version")
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
