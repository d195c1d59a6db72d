"""One process at a time on the embedded two-tier storage of a SQLite file.

The embedded two-tier storage keeps its Redis (fakeredis) inside the process: a second process
on the same file, embedded two-tier or SQL, would change the file while the first went on
answering from its own copy (a logout accepted for minutes, ``sessions end-all`` reporting
success while the application serves the session). So the embedded two-tier storage holds an
exclusive lock on ``<file>.lock`` while open, and the SQL storage on a SQLite file a shared one:
whichever comes second is refused with a message saying why, instead of silently diverging.
``flock`` locks go with the process: a crashed holder leaves no stale lock.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from platform_sessions.domain.errors import MisconfiguredStore
from platform_sessions.entrypoints.embedded_routing_key import keeps_key_file, sqlite_path

LOCK_SUFFIX = ".lock"


def hold_sqlite_file(database_url: str, *, exclusive: bool) -> Callable[[], None]:
    """Lock the SQLite file of ``database_url`` for this process; returns what releases it.

    ``exclusive`` for the embedded two-tier storage, shared for the SQL storage. Nothing to
    lock for a database server, or where the platform has no ``flock``.
    """
    if not keeps_key_file(database_url):
        return lambda: None
    try:
        import fcntl
    except ImportError:  # not POSIX: no guard
        return lambda: None
    path = str(sqlite_path(database_url)) + LOCK_SUFFIX
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        database = sqlite_path(database_url)
        if exclusive:
            raise MisconfiguredStore(
                f"{database} is in use by another process: the embedded two-tier storage keeps its "
                "Redis inside one process, so two processes would serve each other's ended "
                "sessions; use plain bootstrap() (the SQL storage, right for several processes) "
                "or a Redis server"
            ) from None
        raise MisconfiguredStore(
            f"{database} is in use by a process on the embedded two-tier storage, which answers "
            "from its own in-process Redis and would go on serving what this process changes; "
            "stop it, or run it on the SQL storage (plain bootstrap()) too"
        ) from None

    def release() -> None:
        os.close(descriptor)  # closing the descriptor releases the flock

    return release
