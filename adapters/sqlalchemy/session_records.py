"""Translation between ``user_sessions`` and ``session_data`` rows and ``UserSession`` entities."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from platform_sessions.adapters.sqlalchemy.tables import UserSessionColumns
from platform_sessions.domain.attributes import JsonValue, checked_attributes
from platform_sessions.domain.client import ClientInfo
from platform_sessions.domain.errors import InvalidAttributes, InvalidSessionData
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.session import UserSession
from platform_sessions.domain.session_data import (
    checked_key,
    data_size,
    decode_value,
    entry_size,
)
from platform_sessions.domain.token import RoutingTag, TokenDigest

NO_DATA: Mapping[str, str] = {}


class UndecodableSessionRecord(Exception):
    """A stored row that does not make a valid session (edited by hand, or corrupted)."""


def idle_timeout_of(user_id: str | None, policy: SessionPolicy) -> timedelta:
    """The idle timeout of a session of ``user_id`` (``None``: a visitor's, the anonymous one)."""
    return policy.anonymous_idle_timeout if user_id is None else policy.idle_timeout


def stored_expiry(
    last_seen_at: datetime, absolute_expires_at: datetime, policy: SessionPolicy, *, user_id: str | None
) -> datetime:
    """The ``expires_at`` column: the earlier of the idle and the absolute deadline."""
    return min(last_seen_at + idle_timeout_of(user_id, policy), absolute_expires_at)


def decoded_data(encoded: Mapping[str, str]) -> dict[str, JsonValue]:
    """A session's data from its ``session_data`` rows (key to canonical JSON text); raises
    :class:`UndecodableSessionRecord` for a key or value that input could never have stored."""
    try:
        data: dict[str, JsonValue] = {}
        for key, text in encoded.items():
            data[checked_key(key)] = decode_value(text)
    except (InvalidSessionData, ValueError, TypeError, RecursionError) as error:
        raise UndecodableSessionRecord(f"session data: {type(error).__name__}: {error}") from error
    return data


def session_from_row(row: UserSessionColumns, data: Mapping[str, str] = NO_DATA) -> UserSession:
    """The entity a stored row (and its data rows' ``key`` and ``value``) describes; raises
    :class:`UndecodableSessionRecord`."""
    try:
        return UserSession(
            session_id=row.session_id,
            token_digest=TokenDigest(row.token_digest, RoutingTag(row.token_routing_tag)),
            user_id=row.user_id,
            active_platform_id=row.active_platform_id,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            absolute_expires_at=row.absolute_expires_at,
            version=row.version,
            csrf_token=row.csrf_token,
            client=ClientInfo(user_agent=row.user_agent, ip_address=row.ip_address),
            # Checked like input: a session must never carry what JSON cannot round-trip.
            attributes=checked_attributes(row.attributes),
            data=decoded_data(data),
            persistent_cookie=_stored_bool(row.persistent_cookie),
        )
    except (InvalidAttributes, ValueError, TypeError) as error:
        raise UndecodableSessionRecord(f"{type(error).__name__}: {error}") from error


def digest_values(digest: TokenDigest) -> dict[str, Any]:
    """The columns that hold a token digest."""
    return {"token_digest": digest.hex, "token_routing_tag": digest.routing_tag.value}


def session_values(session: UserSession, policy: SessionPolicy) -> dict[str, Any]:
    """Every column of a new row for ``session``."""
    return {
        "session_id": session.session_id,
        **digest_values(session.token_digest),
        "user_id": session.user_id,
        "active_platform_id": session.active_platform_id,
        "created_at": session.created_at,
        "last_seen_at": session.last_seen_at,
        "absolute_expires_at": session.absolute_expires_at,
        "expires_at": stored_expiry(
            session.last_seen_at, session.absolute_expires_at, policy, user_id=session.user_id
        ),
        "version": session.version,
        "csrf_token": session.csrf_token,
        "user_agent": session.client.user_agent,
        "ip_address": session.client.ip_address,
        "attributes": checked_attributes(dict(session.attributes)),
        "persistent_cookie": session.persistent_cookie,
        "data_bytes": data_size(session.data),
    }


def data_row_values(session_id: str, encoded: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """``session_data`` rows for keys and their canonical JSON text."""
    return [
        {"session_id": session_id, "key": key, "value": text, "size": entry_size(key, text)}
        for key, text in encoded
    ]


def _stored_bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"a stored flag is a {type(value).__name__}, not a boolean")
    return value
