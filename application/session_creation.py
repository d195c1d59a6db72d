"""Storing a new session exactly once, also when the store lost the commit's acknowledgement."""

from __future__ import annotations

from collections.abc import Sequence

from platform_sessions.application.outcome_unknown import resolve_unknown_commit
from platform_sessions.domain.errors import CommitOutcomeUnknown, ConcurrentUpdate
from platform_sessions.domain.ports import UserSessionRepository
from platform_sessions.domain.session import UserSession


def create_once(
    sessions: UserSessionRepository, session: UserSession, *, max_sessions: int
) -> Sequence[UserSession]:
    """``sessions.create`` and, on :class:`CommitOutcomeUnknown`, settle it.

    The session is looked up by its digest: found, it was stored (which sessions it evicted is
    then not known: they did end, but ``[]`` is returned); not found, it is stored again (same
    id and digest, so at most once).
    """
    try:
        return sessions.create(session, max_sessions=max_sessions)
    except CommitOutcomeUnknown as unknown:
        return resolve_unknown_commit(unknown, lambda: _stored_or_again(sessions, session, max_sessions))


def _stored_or_again(
    sessions: UserSessionRepository, session: UserSession, max_sessions: int
) -> Sequence[UserSession]:
    if _stored(sessions, session):
        return ()
    try:
        return sessions.create(session, max_sessions=max_sessions)
    except ConcurrentUpdate:
        # Its id or digest exists now: the lost commit landed after the look-up.
        if _stored(sessions, session):
            return ()
        raise


def _stored(sessions: UserSessionRepository, session: UserSession) -> bool:
    found = sessions.get(session.token_digest)
    return found is not None and found.session_id == session.session_id
