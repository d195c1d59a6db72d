"""The Redis work a committed change owes, and the outbox rows that record it.

Each item says what Redis must look like for one session (or one user's platform cache) once
applied; applying is idempotent and can never resurrect anything (versions and tombstones, see
``lua/lib_mirror.lua``), so the writer after its commit, the relay and a rewarm may all apply
the same item, in any order.
"""

from __future__ import annotations

from collections.abc import Sequence

from attrs import frozen

from platform_sessions.adapters.redis.session_mirror import EndedSession
from platform_sessions.adapters.sqlalchemy.outbox import OutboxEntry
from platform_sessions.domain.ids import UserId
from platform_sessions.domain.session import UserSession
from platform_sessions.domain.session_data import SessionDataChanges


@frozen
class PutSession:
    """Mirror this committed session."""

    session: UserSession


@frozen
class PutSessionData:
    """Mirror this committed data write: ``session`` as committed, ``changes`` what it wrote
    (only those keys are written to Redis when it holds the version just before)."""

    session: UserSession
    changes: SessionDataChanges


@frozen
class ForgetSessions:
    """Remove these ended sessions of one user, leaving tombstones."""

    user_id: UserId | None
    ended: tuple[EndedSession, ...]


@frozen
class RotateSession:
    """Forget the old digest and mirror the session under its new one, atomically."""

    old: EndedSession
    session: UserSession


@frozen
class DropPlatforms:
    """Drop a user's platform cache."""

    user_id: UserId


MirrorWork = PutSession | PutSessionData | ForgetSessions | RotateSession | DropPlatforms


def ended(session: UserSession) -> EndedSession:
    """``session`` as a digest to forget, guarded by a tombstone until its absolute deadline."""
    return EndedSession(session.token_digest, session.absolute_expires_at)


def outbox_entries(work: Sequence[MirrorWork]) -> list[OutboxEntry]:
    """The outbox rows that record ``work`` (one per digest, one per platform cache)."""
    entries: list[OutboxEntry] = []
    for item in work:
        if isinstance(item, PutSession | PutSessionData):
            s = item.session
            entries.append(OutboxEntry.for_session(s.user_id, s.token_digest, s.absolute_expires_at))
        elif isinstance(item, ForgetSessions):
            entries.extend(
                OutboxEntry.for_session(item.user_id, e.digest, e.absolute_expires_at) for e in item.ended
            )
        elif isinstance(item, RotateSession):
            s = item.session
            entries.append(OutboxEntry.for_session(s.user_id, item.old.digest, item.old.absolute_expires_at))
            entries.append(OutboxEntry.for_session(s.user_id, s.token_digest, s.absolute_expires_at))
        else:
            entries.append(OutboxEntry.for_platforms(item.user_id))
    return entries
