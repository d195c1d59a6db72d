"""What lives beside a SQLite file: its routing key, and the lock of the processes on it.

**The routing key.** A storage on a SQLite file generates its key once and keeps it in a file
beside the database, so tokens and Redis keys stay valid across restarts and every process on
the file uses the same key.

**The lock.** The embedded two-tier storage keeps its Redis (fakeredis) inside the process: a
second process on the same file, embedded two-tier or SQL, would change the file while the
first went on answering from its own copy (a logout accepted for minutes, ``sessions end-all``
reporting success while the application serves the session). So the embedded two-tier storage
holds an exclusive lock on ``<file>.lock`` while open, and the SQL storage on a SQLite file a
shared one: whichever comes second is refused with a message saying why, instead of silently
diverging. ``flock`` locks go with the process: a crashed holder leaves no stale lock.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path

from platform_sessions.domain.errors import InvalidInput, MisconfiguredStore
from platform_sessions.domain.routing import RoutingKey

KEY_FILE_SUFFIX = ".routing-key"
LOCK_SUFFIX = ".lock"


def keeps_key_file(database_url: str) -> bool:
    """Whether ``database_url`` is a SQLite file, beside which a key file can live."""
    from sqlalchemy.engine import make_url  # SQLAlchemy only where a database URL is read

    url = make_url(database_url)
    return url.get_backend_name() == "sqlite" and bool(url.database) and url.database != ":memory:"


def sqlite_path(database_url: str) -> Path:
    """The SQLite file of ``database_url`` (absolute)."""
    from sqlalchemy.engine import make_url

    return Path(str(make_url(database_url).database)).absolute()


def key_file_path(database_url: str) -> Path:
    """Where the key of the SQLite file of ``database_url`` is kept."""
    from sqlalchemy.engine import make_url

    return Path(str(make_url(database_url).database) + KEY_FILE_SUFFIX)


def embedded_routing_key(database_url: str) -> RoutingKey:
    """The key stored beside the SQLite file of ``database_url``, created (mode 0600) if absent.

    Another database has no file beside it: give ``routing_key`` or
    ``$PLATFORM_SESSIONS_ROUTING_KEY`` then. Processes starting at once agree: the key is
    written to a private temporary file and linked into place, which succeeds for one of them;
    the others read the complete file it linked.
    """
    if not keeps_key_file(database_url):
        raise InvalidInput("a storage on a database server needs a stable routing_key")
    path = key_file_path(database_url)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")  # mode 0600
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as file:
                file.write(secrets.token_hex(32) + "\n")
            with contextlib.suppress(FileExistsError):  # another process linked its key first
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    return RoutingKey.from_text(path.read_text(encoding="ascii").strip())


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
