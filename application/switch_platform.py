"""SwitchPlatform: the heart of the application: work on another connected account."""

from __future__ import annotations

import logging

from attrs import frozen

from platform_sessions.application.platform_choice import require_usable
from platform_sessions.application.results import SwitchOutcome
from platform_sessions.application.rotate_session import RotateSession
from platform_sessions.application.versioned_update import update_with_retry
from platform_sessions.domain.events import PlatformSwitched
from platform_sessions.domain.ids import PlatformId, checked_id
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import (
    Clock,
    EventPublisher,
    PlatformDirectory,
    UnitOfWorkFactory,
    UserSessionRepository,
)
from platform_sessions.domain.session import SessionChanges, UserSession

logger = logging.getLogger(__name__)


@frozen
class SwitchPlatform:
    """Make ``platform_id`` the session's active platform.

    1. Validate the target through the directory: it exists, the session's user owns it, it
       is active (:class:`PlatformNotFound`, :class:`PlatformInactive`).
    2. In one unit of work (a database session): change only the session's active platform
       with a versioned update, re-reading and retrying on a conflict a bounded number of
       times (then :class:`ConcurrentUpdate`), stamp the platform's ``last_used_at``, commit.
       The update runs ``within`` the unit of work, so a storage that keeps sessions in the
       same database commits both in one transaction (others write the session at once).
    3. Publish :class:`PlatformSwitched`; rotate the token if the policy says so.

    Switching to the platform already active writes nothing, commits nothing and says so
    (``changed=False``), so a double click is harmless; "already active" is judged on the
    session read again at that moment (one read, on that path only), never on the possibly
    older session the request resolved. ``session`` is the session as this
    request resolved it: passing it in, rather than a token, saves a read.
    """

    sessions: UserSessionRepository
    directory: PlatformDirectory
    uow_factory: UnitOfWorkFactory
    publisher: EventPublisher
    clock: Clock
    policy: SessionPolicy
    rotate: RotateSession

    def __call__(self, session: UserSession, platform_id: PlatformId) -> SwitchOutcome:
        checked_id(platform_id, "platform_id")
        require_usable(self.directory.get(session.user_id, platform_id), session.user_id, platform_id)

        def plan(current: UserSession) -> SessionChanges | None:
            if current.active_platform_id == platform_id:
                return None
            return SessionChanges(active_platform_id=platform_id)

        if session.active_platform_id == platform_id:
            # "Already active" must not rest on the session as this request resolved it: a
            # switch acknowledged since (by another request, another process) would be undone
            # in silence. Decide it on a read made now; only this path pays the read.
            current = self.sessions.get(session.token_digest)
            if current is not None and current.session_id == session.session_id:
                session = current
        previous = session.active_platform_id
        with self.uow_factory() as uow:
            switched = update_with_retry(self.sessions, session, plan, within=uow)
            if switched is None:
                return SwitchOutcome(session=session, changed=False)  # leaving rolls back: nothing
            now = self.clock.now()
            uow.platforms.stamp_last_used(platform_id, now)
            uow.commit()
        self.publisher.publish(
            PlatformSwitched(
                user_id=switched.user_id,
                occurred_at=now,
                session_handle=switched.handle,
                from_platform_id=previous,
                to_platform_id=platform_id,
            )
        )
        if self.policy.rotate_token_on_switch:
            rotated = self.rotate(switched)
            return SwitchOutcome(session=rotated.session, changed=True, new_token=rotated.token)
        return SwitchOutcome(session=switched, changed=True)
