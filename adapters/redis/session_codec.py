"""A user session as a Redis hash, field by field, with a schema version.

Field-level storage lets an update write only what changed (a switch writes the platform and
the version, nothing else), so two requests changing different things never overwrite each
other. The token is not stored at all: the key holds its SHA-256, and nothing else does.
The field names are the Lua scripts' too (``lib_session.lua`` checks the required ones).

The application's data is one field per key (``d:`` + the key: no field of the session's own
has a colon, so the two never collide), each value its canonical JSON text, so a data write
sets and deletes only the keys it changed. ``data_bytes`` keeps the data's size (as
``domain.session_data`` measures it), which the write script checks the limit against without
reading the other keys (see ``lua/write_session_data.lua``). An anonymous session
has neither ``user_id`` nor ``user_label``.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from typing import Any

import attrs

from platform_sessions.adapters.redis.epoch import from_micros, to_micros
from platform_sessions.adapters.redis.errors import CorruptPayload
from platform_sessions.adapters.redis.replies import pairs
from platform_sessions.domain.attributes import JsonValue, canonical_json, encode_attributes
from platform_sessions.domain.client import ClientInfo
from platform_sessions.domain.ids import UserId
from platform_sessions.domain.session import SessionChanges, Unchanged, UserSession
from platform_sessions.domain.session_data import data_size, decode_value
from platform_sessions.domain.token import RoutingTag, TokenDigest

SCHEMA_VERSION = "1"

SCHEMA = "schema"
SESSION_ID = "session_id"
USER_ID = "user_id"
USER_LABEL = "user_label"
ACTIVE_PLATFORM_ID = "active_platform_id"  # absent when the session has no active platform
CREATED_AT = "created_at_us"
LAST_SEEN_AT = "last_seen_at_us"
ABSOLUTE_EXPIRES_AT = "absolute_expires_at_us"
VERSION = "version"
CSRF_TOKEN = "csrf_token"
USER_AGENT = "user_agent"
IP_ADDRESS = "ip_address"
ATTRIBUTES = "attributes"
PERSISTENT_COOKIE = "persistent_cookie"  # "0" for a browser-session cookie; absent reads as "1"
DATA_BYTES = "data_bytes"  # the data's running size; absent reads as 0
DATA_PREFIX = "d:"  # + a data key: that key's value


def encode_session(session: UserSession, user_label: str | None) -> dict[str, str]:
    """Every field of a new session, as the create script writes them (``user_label`` is
    ``None`` for an anonymous session)."""
    fields = {
        SCHEMA: SCHEMA_VERSION,
        SESSION_ID: session.session_id,
        CREATED_AT: str(to_micros(session.created_at)),
        LAST_SEEN_AT: str(to_micros(session.last_seen_at)),
        ABSOLUTE_EXPIRES_AT: str(to_micros(session.absolute_expires_at)),
        VERSION: str(session.version),
        CSRF_TOKEN: session.csrf_token,
        USER_AGENT: session.client.user_agent,
        IP_ADDRESS: session.client.ip_address,
        ATTRIBUTES: encode_attributes(dict(session.attributes)),  # a read-only view to JSON
    }
    if session.user_id is not None and user_label is not None:
        fields[USER_ID] = session.user_id
        fields[USER_LABEL] = user_label
    if session.active_platform_id is not None:
        fields[ACTIVE_PLATFORM_ID] = session.active_platform_id
    # Defaults are left out (an absent field reads as its default): a session without data,
    # the common case, keeps the hash it had before data existed.
    if not session.persistent_cookie:
        fields[PERSISTENT_COOKIE] = "0"
    if session.data:
        fields[DATA_BYTES] = str(data_size(session.data))
        for key, value in session.data.items():
            fields[DATA_PREFIX + key] = canonical_json(value)
    return fields


def encode_changes(changes: SessionChanges) -> tuple[dict[str, str], list[str]]:
    """The fields a versioned update sets, and those it deletes (the version is the script's)."""
    to_set: dict[str, str] = {}
    to_delete: list[str] = []
    if not isinstance(changes.active_platform_id, Unchanged):
        if changes.active_platform_id is None:
            to_delete.append(ACTIVE_PLATFORM_ID)
        else:
            to_set[ACTIVE_PLATFORM_ID] = changes.active_platform_id
    if not isinstance(changes.attributes, Unchanged):
        to_set[ATTRIBUTES] = encode_attributes(dict(changes.attributes))
    if not isinstance(changes.csrf_token, Unchanged):
        to_set[CSRF_TOKEN] = changes.csrf_token
    return to_set, to_delete


def decode_session(raw: Any, digest: TokenDigest) -> UserSession:
    """The session stored under ``digest`` from its HGETALL reply.

    Raises :class:`CorruptPayload` for another schema version, a missing or malformed field,
    or anything that is not a session hash at all.
    """
    try:
        fields = pairs(raw)
    except TypeError as error:  # not a list or map at all (an error reply, say)
        raise CorruptPayload(f"a session reply is not a hash: {error}") from None
    return _from_fields(fields, digest)


def decode_session_json(encoded: object, digest: TokenDigest) -> UserSession:
    """Like :func:`decode_session`, from the hash's fields as one JSON object (the resolve
    script's reply: one value to decode in C instead of a field list to decode one by one).

    The same reply decodes to the same session, so recent decodes are remembered: a browser's
    burst of requests with one cookie decodes it once, until a touch or a change rewrites it.
    """
    if not isinstance(encoded, bytes | str):
        raise CorruptPayload(f"a session reply is a {type(encoded).__name__}, not JSON text")
    return handed_out(_remembered(encoded, digest.hex, digest.routing_tag.value))


def handed_out(session: UserSession) -> UserSession:
    """``session`` as one caller may have it, when others share the same remembered one.

    Nested lists and maps could be changed in place by the application: each caller gets its
    own copy of them, so nothing leaks into the next request. Flat attributes and data need
    no copy.
    """
    if _flat(session.attributes) and _flat(session.data):
        return session
    return attrs.evolve(
        session,
        attributes=copy.deepcopy(dict(session.attributes)),
        data=copy.deepcopy(dict(session.data)),
    )


# A memo is safe because decoding is a pure function of the reply and the digest (the digest
# names the token, and the reply every field), and its result is immutable. Errors are not
# remembered: a corrupt record is reported, and logged, every time.
REMEMBERED_SESSIONS = 2048


@functools.lru_cache(maxsize=REMEMBERED_SESSIONS)
def _remembered(encoded: bytes | str, digest_hex: str, tag: str) -> UserSession:
    try:
        # bytes are decoded as strict UTF-8 here; what is not UTF-8 is a ValueError.
        fields = json.loads(encoded)
    except ValueError as error:
        raise CorruptPayload(f"a session reply is not JSON: {error}") from None
    if not isinstance(fields, dict) or not all(isinstance(value, str) for value in fields.values()):
        raise CorruptPayload("a session reply is not an object of strings")
    return _from_fields(fields, TokenDigest(digest_hex, RoutingTag(tag)))


def _flat(attributes: Mapping[str, object]) -> bool:
    # Every resolve asks, near cache hits included: an empty map (most sessions' data) needs
    # no generator.
    return not attributes or not any(isinstance(value, dict | list) for value in attributes.values())


def _from_fields(fields: Mapping[str, str], digest: TokenDigest) -> UserSession:
    try:
        if fields.get(SCHEMA) != SCHEMA_VERSION:
            raise CorruptPayload(f"schema version {fields.get(SCHEMA)!r}, expected {SCHEMA_VERSION!r}")
        size = fields.get(DATA_BYTES, "0")
        if not (size.isascii() and size.isdigit()):  # as the scripts judge it (lib_session.lua)
            raise CorruptPayload("the data's size is not a number")
        return UserSession(
            session_id=_required(fields, SESSION_ID),
            token_digest=digest,
            user_id=_user_id(fields),
            active_platform_id=fields.get(ACTIVE_PLATFORM_ID) or None,
            created_at=from_micros(int(fields[CREATED_AT])),
            last_seen_at=from_micros(int(fields[LAST_SEEN_AT])),
            absolute_expires_at=from_micros(int(fields[ABSOLUTE_EXPIRES_AT])),
            version=int(fields[VERSION]),
            csrf_token=_required(fields, CSRF_TOKEN),
            client=ClientInfo(user_agent=fields.get(USER_AGENT, ""), ip_address=fields.get(IP_ADDRESS, "")),
            attributes=_attributes(fields[ATTRIBUTES]),
            persistent_cookie=fields.get(PERSISTENT_COOKIE, "1") != "0",
            data=_data(fields),
        )
    except CorruptPayload:
        raise
    except (KeyError, ValueError, TypeError, OverflowError) as error:
        raise CorruptPayload(f"{type(error).__name__}: {error}") from None


def _required(fields: Mapping[str, str], name: str) -> str:
    value = fields[name]
    if not value:
        raise CorruptPayload(f"field {name!r} is empty")
    return value


def _user_id(fields: Mapping[str, str]) -> UserId | None:
    if USER_ID not in fields and USER_LABEL not in fields:
        return None  # an anonymous session
    return UserId(_required(fields, USER_ID))


def _data(fields: Mapping[str, str]) -> dict[str, JsonValue]:
    # Every decoded value is a new object: nothing is shared with another decode's result.
    return {
        name[len(DATA_PREFIX) :]: decode_value(value)
        for name, value in fields.items()
        if name.startswith(DATA_PREFIX)
    }


def _attributes(encoded: str) -> dict[str, Any]:
    decoded = json.loads(encoded)
    if not isinstance(decoded, dict):
        raise CorruptPayload("attributes are not a JSON object")
    return decoded
