"""SQLite set up for a web application's threads: WAL, a busy timeout, real transactions.

- WAL lets readers go on while one writer writes; ``synchronous=NORMAL`` is the setting WAL
  is designed for (a power cut may lose the last commits, never corrupt the file).
- ``busy_timeout`` makes a writer wait for the write lock instead of failing at once.
- Python's sqlite3 driver (before 3.12's ``autocommit``) begins transactions only before
  INSERT/UPDATE/DELETE, so a unit of work's reads would run outside its transaction. The
  driver's handling is switched off and this module emits BEGIN itself: ``BEGIN IMMEDIATE``
  (take the write lock up front, waiting up to the busy timeout) unless the transaction is
  marked read-only, which gets a plain deferred ``BEGIN``. A transaction that read first and
  then tried to write would otherwise fail at once with "database is locked" whenever another
  writer committed in between: the busy timeout cannot help there.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

READ_ONLY_OPTION = "platform_sessions_read_only"
"""Execution option marking a transaction that will only read (see :func:`read_only`)."""

# SQLite's primary result code for "the lock is held"; its extended codes (SQLITE_BUSY_SNAPSHOT,
# 517: another writer committed since this transaction's snapshot) share the low byte.
_SQLITE_BUSY = 5


def configure_sqlite(engine: Engine, *, busy_timeout_ms: int) -> None:
    """Install the connection and transaction settings above on a SQLite ``engine``."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def write_lock_refused(error: BaseException) -> bool:
    """Whether ``error`` is SQLite refusing the write lock to a transaction that began reading.

    Such a transaction (a deferred ``BEGIN``) does not wait out the busy timeout when it first
    writes: SQLite refuses at once if another writer holds the lock or has committed since the
    transaction's snapshot. Nothing is wrong with the database; beginning again as a writer
    (``BEGIN IMMEDIATE``, which does wait) succeeds.
    """
    original = getattr(error, "orig", None)
    return isinstance(original, sqlite3.OperationalError) and original.sqlite_errorcode & 0xFF == _SQLITE_BUSY
