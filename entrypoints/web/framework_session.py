"""The dict a framework shows as its session (``flask.session``, Starlette's
``request.session``), and writing back only what a request changed in it.

The framework gets a plain copy of the session's data when the request starts; when the
response starts, its dict is compared with a second copy of what was read, and only the keys
set, changed or removed are written (``SessionHandle.write_data``). So:

- a request that changes nothing writes nothing (the comparison is in memory);
- two concurrent requests that change different keys both keep their change, because the
  store merges key by key; a key both change is the last write's;
- a visitor who only reads never gets a session: nothing is set, so nothing is started;
- a value changed in place (``session["cart"].append(item)``) is seen without
  ``session.modified = True``, as the comparison is by value, not by the dict's flags.

Values are JSON: tuples come back as lists (Flask's flashed ``(category, message)`` pairs
included); anything JSON cannot hold is refused with ``InvalidSessionData`` when it is written.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from platform_sessions.domain.attributes import JsonValue
from platform_sessions.domain.errors import SessionNotFound
from platform_sessions.entrypoints.web.handle import SessionHandle

logger = logging.getLogger(__name__)


def editable_copy(data: Mapping[str, JsonValue]) -> dict[str, JsonValue]:
    """A plain, deep copy of the session's data that the framework may change at will."""
    return {key: _plain(value) for key, value in data.items()}


def _plain(value: JsonValue) -> JsonValue:
    # Made of dicts and lists only: nothing the framework's dict holds is shared with the
    # copy it is compared with, or with the session the store returned.
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def data_changes(
    read: Mapping[str, JsonValue], now: Mapping[str, JsonValue]
) -> tuple[dict[str, JsonValue], frozenset[str]]:
    """The keys set or changed from ``read`` (the copy taken when the request started) to
    ``now``, with their new values, and the keys removed."""
    changed = {key: _plain(value) for key, value in now.items() if key not in read or read[key] != value}
    return changed, frozenset(key for key in read if key not in now)


def write_changes(handle: SessionHandle, changed: Mapping[str, JsonValue], removed: frozenset[str]) -> None:
    """Write a request's changes through its handle (nothing when there are none).

    A session that ended meanwhile (logged out in another tab, revoked) is not recreated:
    the changes are dropped, as they belonged to it.
    """
    if not changed and not removed:
        return
    if handle.session is None:
        handle.write_data(set=changed, delete=removed)  # starts a visitor's session
        return
    try:
        handle.write_data(set=changed, delete=removed)
    except SessionNotFound:
        logger.info("session data of a request dropped: its session ended meanwhile")
