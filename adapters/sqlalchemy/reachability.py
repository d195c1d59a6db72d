"""Whether the database answers, and whether it is a database this process may use.

:func:`verify_database` is what a storage checks before trusting its database, and again on
every health report: writable (not a hot standby, not a read-only role or session), migrated
to the revision this version needs, and holding this routing key's fingerprint.
"""

from __future__ import annotations

import functools
import logging
import os

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from platform_sessions.adapters.sqlalchemy.tables import SqlTables
from platform_sessions.adapters.sqlalchemy.transactions import DatabaseSessionFactory, short_transaction
from platform_sessions.domain.errors import ConcurrentUpdate, MisconfiguredStore, StoreUnavailable

logger = logging.getLogger(__name__)

FINGERPRINT_ROW = "routing_key_fingerprint"


def database_reachable(database_sessions: DatabaseSessionFactory) -> bool:
    """``True`` if the database runs a trivial query (its connection checked out and back)."""
    try:
        with short_transaction(database_sessions, "answer a health check", read_only=True) as session:
            session.execute(text("SELECT 1"))
    except StoreUnavailable as error:
        logger.warning("health: the database is unreachable: %s", error)
        return False
    return True


@functools.cache
def head_revision() -> str:
    """The schema revision this version of the library needs (its newest migration)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from platform_sessions.adapters.sqlalchemy.migrate import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def verify_database(
    database_sessions: DatabaseSessionFactory, tables: SqlTables, *, where: str, fingerprint: str | None
) -> None:
    """Check that the database is writable, migrated and holds this routing key's data.

    One read-only transaction (the revision, read-only state and fingerprint), and one short
    write the first time, to store the fingerprint. ``fingerprint`` ``None`` skips that part.
    Raises :class:`MisconfiguredStore` (read-only, another key's data), or
    :class:`StoreUnavailable` (unreachable, tables missing or behind: run the migrations).
    """
    with short_transaction(database_sessions, "check its schema", read_only=True) as session:
        _require_writable(session, where)  # first: a read-only database is wrong whatever its schema
        revision = session.execute(text(f"SELECT version_num FROM {tables.version_table}")).scalar()
        stored = _stored_fingerprint(session, tables) if revision == head_revision() else None
    if revision != head_revision():
        raise StoreUnavailable(
            f"the database at {where} has the platform-sessions schema at revision {revision}, this "
            f"version needs {head_revision()}: run `platform-sessions db upgrade` (upgrade_database())"
        )
    if fingerprint is None:
        return
    if stored is None:
        stored = _store_fingerprint(database_sessions, tables, fingerprint)
    if stored != fingerprint:
        raise MisconfiguredStore(
            f"routing key mismatch: the data at {where} (table {tables.prefix}deployment) was written "
            f"with the routing key whose fingerprint is {stored}, this process has {fingerprint}; "
            "every process must share one routing key"
        )


def _require_writable(session: Session, where: str) -> None:
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        in_recovery, read_only = session.execute(
            text("SELECT pg_is_in_recovery(), current_setting('transaction_read_only')")
        ).one()
        if in_recovery:
            raise MisconfiguredStore(
                f"the database at {where} is a read-only standby (pg_is_in_recovery): it would refuse "
                "every login; point the storage at the primary"
            )
        if read_only == "on":
            raise MisconfiguredStore(
                f"the database at {where} is read-only for this connection (transaction_read_only is "
                "on: a read-only role or default_transaction_read_only): it would refuse every login"
            )
    elif bind.dialect.name == "sqlite":
        path = session.connection().engine.url.database
        directory = os.path.dirname(os.path.abspath(path or "."))
        if path and not (os.access(path, os.W_OK) and os.access(directory, os.W_OK)):
            raise MisconfiguredStore(
                f"the SQLite file {where} (or its directory, where its journal lives) is not writable "
                "by this process: it would refuse every login"
            )


def _stored_fingerprint(session: Session, tables: SqlTables) -> str | None:
    rows = tables.deployment
    return session.execute(select(rows.value).where(rows.name == FINGERPRINT_ROW)).scalar()


def _store_fingerprint(database_sessions: DatabaseSessionFactory, tables: SqlTables, fingerprint: str) -> str:
    """Write the fingerprint unless another process just did; the one stored either way."""
    try:
        with short_transaction(database_sessions, "store the routing key's fingerprint") as session:
            existing = _stored_fingerprint(session, tables)
            if existing is not None:
                return existing
            session.execute(insert(tables.deployment).values(name=FINGERPRINT_ROW, value=fingerprint))
    except ConcurrentUpdate:
        pass  # a racing process inserted first: read what it wrote
    with short_transaction(
        database_sessions, "read the routing key's fingerprint", read_only=True
    ) as session:
        stored = _stored_fingerprint(session, tables)
    return stored if stored is not None else fingerprint
