"""The embedded two-tier storage's routing key: generated once, kept in a file beside the
SQLite database, so tokens and Redis keys stay valid across restarts of the process."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url

from platform_sessions.domain.errors import InvalidInput
from platform_sessions.domain.routing import RoutingKey

KEY_FILE_SUFFIX = ".routing-key"


def embedded_routing_key(database_url: str) -> RoutingKey:
    """The key stored beside the SQLite file of ``database_url``, created (mode 0600) if absent.

    Another database has no file beside it: give ``routing_key`` or
    ``$PLATFORM_SESSIONS_ROUTING_KEY`` then.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise InvalidInput("the embedded storage on a database server needs a stable routing_key")
    path = Path(url.database + KEY_FILE_SUFFIX)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return RoutingKey.from_text(path.read_text(encoding="ascii").strip())
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(secrets.token_hex(32) + "\n")
    return RoutingKey.from_text(path.read_text(encoding="ascii").strip())
