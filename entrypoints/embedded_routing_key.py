"""The routing key of a storage on a SQLite file: generated once, kept in a file beside the
database, so tokens and Redis keys stay valid across restarts and every process on the file
uses the same key."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from platform_sessions.domain.errors import InvalidInput
from platform_sessions.domain.routing import RoutingKey

KEY_FILE_SUFFIX = ".routing-key"


def keeps_key_file(database_url: str) -> bool:
    """Whether ``database_url`` is a SQLite file, beside which a key file can live."""
    url = make_url(database_url)
    return url.get_backend_name() == "sqlite" and bool(url.database) and url.database != ":memory:"


def sqlite_path(database_url: str) -> Path:
    """The SQLite file of ``database_url`` (absolute)."""
    return Path(str(make_url(database_url).database)).absolute()


def key_file_path(database_url: str) -> Path:
    """Where the key of the SQLite file of ``database_url`` is kept."""
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
