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

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

READ_ONLY_OPTION = "platform_sessions_read_only"
"""Execution option marking a transaction that will only read (see :func:`read_only`)."""


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
