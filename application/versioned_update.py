"""Compare-and-set with a bounded retry: the one way use cases change a stored session."""

from __future__ import annotations

import logging
from collections.abc import Callable

from platform_sessions.domain.errors import ConcurrentUpdate, SessionNotFound
from platform_sessions.domain.ports.unit_of_work import UnitOfWork
from platform_sessions.domain.ports.user_sessions import UserSessionRepository
from platform_sessions.domain.session import SessionChanges, UserSession

logger = logging.getLogger(__name__)

DEFAULT_ATTEMPTS = 3

ChangePlan = Callable[[UserSession], SessionChanges | None]
"""Given the session as currently stored, the changes to make, or ``None`` if none are needed."""


def update_with_retry(
    sessions: UserSessionRepository,
    session: UserSession,
    plan: ChangePlan,
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    within: UnitOfWork | None = None,
) -> UserSession | None:
    """Apply ``plan`` to ``session`` with a versioned update, re-reading on conflict.

    Returns the stored session after the change, or ``None`` when the plan found nothing to do
    (possibly because a concurrent writer already did it). Raises :class:`SessionNotFound` if
    the session disappears and :class:`ConcurrentUpdate` after ``attempts`` lost races.

    ``within`` is handed to every attempt (see :meth:`UserSessionRepository.update`): the
    caller commits it afterwards. A lost race leaves it usable, so the retries run in it too.
    """
    current = session
    for attempt in range(1, attempts + 1):
        changes = plan(current)
        if changes is None or changes.is_empty:
            return None
        try:
            return sessions.update(current, changes, within=within)
        except ConcurrentUpdate:
            logger.info("version conflict on a session update (attempt %d of %d)", attempt, attempts)
            fresh = sessions.get(current.token_digest)
            if fresh is None:
                raise SessionNotFound("the session ended during the update") from None
            current = fresh
    raise ConcurrentUpdate(f"the session kept changing under {attempts} attempts to update it")
