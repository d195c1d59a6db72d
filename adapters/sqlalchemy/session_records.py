"""Translation between ``user_sessions`` rows and ``UserSession`` entities."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from platform_sessions.adapters.sqlalchemy.tables import UserSessionColumns
from platform_sessions.domain.attributes import checked_attributes
from platform_sessions.domain.client import ClientInfo
from platform_sessions.domain.errors import InvalidAttributes
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.session import UserSession
from platform_sessions.domain.token import RoutingTag, TokenDigest


class UndecodableSessionRecord(Exception):
    """A stored row that does not make a valid session (edited by hand, or corrupted)."""


def stored_expiry(last_seen_at: datetime, absolute_expires_at: datetime, policy: SessionPolicy) -> datetime:
    """The ``expires_at`` column: the earlier of the idle and the absolute deadline."""
    return min(last_seen_at + policy.idle_timeout, absolute_expires_at)


def session_from_row(row: UserSessionColumns) -> UserSession:
    """The entity a stored row describes; raises :class:`UndecodableSessionRecord`."""
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
        "expires_at": stored_expiry(session.last_seen_at, session.absolute_expires_at, policy),
        "version": session.version,
        "csrf_token": session.csrf_token,
        "user_agent": session.client.user_agent,
        "ip_address": session.client.ip_address,
        "attributes": checked_attributes(dict(session.attributes)),
    }
