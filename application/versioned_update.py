"""Compare-and-set with a bounded retry: the one way use cases change a stored session."""

from __future__ import annotations

import logging
from collections.abc import Callable

from attrs import frozen

from platform_sessions.domain.errors import ConcurrentUpdate, SessionNotFound
from platform_sessions.domain.ports.unit_of_work import UnitOfWork
from platform_sessions.domain.ports.user_sessions import UserSessionRepository
from platform_sessions.domain.session import SessionChanges, UserSession

logger = logging.getLogger(__name__)

DEFAULT_ATTEMPTS = 3

ChangePlan = Callable[[UserSession], SessionChanges | None]
"""Given the session as currently stored, the changes to make, or ``None`` if none are needed."""


@frozen
class VersionedUpdate:
    """What :func:`update_with_retry` decided, and on what.

    ``decided_on`` is the session the plan was last asked about: the one the write was applied
    to (its version confirmed by the compare-and-set), or, when ``changed`` is false, the
    stored session in which the plan found nothing to do. ``session`` is the session as stored
    afterwards: the written one, or ``decided_on`` itself when nothing was written.
    """

    decided_on: UserSession
    session: UserSession
    changed: bool


def update_with_retry(
    sessions: UserSessionRepository,
    session: UserSession,
    plan: ChangePlan,
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    within: UnitOfWork | None = None,
) -> VersionedUpdate:
    """Apply ``plan`` to ``session`` with a versioned update, re-reading on conflict.

    "Nothing to do" is decided only on the session as stored, never on the caller's copy: that
    copy may predate a write another request has since been told succeeded, so when the plan
    finds nothing to do in it, the session is read again (``within``, see
    :meth:`UserSessionRepository.get`) and the plan asked again. A plan that wants a change
    needs no such read: the compare-and-set refuses a stale copy. Raises
    :class:`SessionNotFound` if the session disappears and :class:`ConcurrentUpdate` after
    ``attempts`` lost races.

    ``within`` is handed to every attempt and read (see :meth:`UserSessionRepository.update`):
    the caller commits it afterwards. A lost race leaves it usable, so the retries run in it.
    """
    current, as_stored, writes = session, False, 0
    while True:
        changes = plan(current)
        if changes is None or changes.is_empty:
            if as_stored:
                return VersionedUpdate(current, current, changed=False)
            current, as_stored = _reread(sessions, current, within), True
            continue
        writes += 1
        try:
            return VersionedUpdate(current, sessions.update(current, changes, within=within), changed=True)
        except ConcurrentUpdate:
            logger.info("version conflict on a session update (attempt %d of %d)", writes, attempts)
            if writes >= attempts:
                raise ConcurrentUpdate(
                    f"the session kept changing under {attempts} attempts to update it"
                ) from None
            current, as_stored = _reread(sessions, current, within), True


def _reread(sessions: UserSessionRepository, current: UserSession, within: UnitOfWork | None) -> UserSession:
    fresh = sessions.get(current.token_digest, within=within)
    if fresh is None or fresh.session_id != current.session_id:
        raise SessionNotFound("the session ended during the update")
    return fresh
