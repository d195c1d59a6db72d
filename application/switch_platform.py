"""SwitchPlatform: the heart of the application: work on another connected account."""

from __future__ import annotations

import logging
from datetime import datetime

import attrs
from attrs import frozen

from platform_sessions.application.outcome_unknown import resolve_unknown_commit
from platform_sessions.application.platform_choice import require_usable
from platform_sessions.application.results import SwitchOutcome
from platform_sessions.application.rotate_session import RotateSession
from platform_sessions.application.versioned_update import VersionedUpdate, update_with_retry
from platform_sessions.domain.context import SessionContext
from platform_sessions.domain.errors import CommitOutcomeUnknown, SessionNotFound
from platform_sessions.domain.events import PlatformSwitched
from platform_sessions.domain.ids import PlatformId, checked_id
from platform_sessions.domain.platform import PlatformConnection
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import (
    Clock,
    EventPublisher,
    UnitOfWorkFactory,
    UserSessionRepository,
)
from platform_sessions.domain.session import SessionChanges, UserSession

logger = logging.getLogger(__name__)


@frozen
class SwitchPlatform:
    """Make ``platform_id`` the session's active platform.

    1. In one unit of work (a database session): validate the target as the unit of work
       reads it: it exists, the session's user owns it, it is active
       (:class:`PlatformNotFound`, :class:`PlatformInactive`; a visitor's (anonymous)
       session has no platforms: :class:`NotLoggedIn`, before any I/O); change only the session's
       active platform with a versioned update, re-reading and retrying on a conflict a
       bounded number of times (then :class:`ConcurrentUpdate`), stamp the platform's
       ``last_used_at``, commit. The update runs ``within`` the unit of work, so a storage that
       keeps sessions in the same database commits all of it in one transaction, the commit a
       switch must make (others write the session at once). Validating there, not through the
       cached directory, reads the record the stamp writes, and costs no round trip of its own.
    2. Publish :class:`PlatformSwitched`; rotate the token if the policy says so.

    The outcome carries the new :class:`SessionContext` (the session as stored, on the target
    platform), so that a web request need not read the user's platforms again.

    Switching to the platform already active writes nothing, commits nothing and says so
    (``changed=False``), so a double click is harmless. "Already active" is decided on the
    session as stored (read again, in the unit of work, when the caller's copy shows the
    target already active), and the outcome carries that session. ``session`` is the session
    as this request resolved it: passing it in, rather than a token, saves a read whenever the
    switch changes something.

    If the store lost the commit's acknowledgement (:class:`CommitOutcomeUnknown`), step 2 runs
    again from a re-read: a versioned update cannot apply twice, so it either switches now or
    finds the target already active (the lost commit landed), and the switch is reported as
    made either way.
    """

    sessions: UserSessionRepository
    uow_factory: UnitOfWorkFactory
    publisher: EventPublisher
    clock: Clock
    policy: SessionPolicy
    rotate: RotateSession

    def __call__(self, session: UserSession, platform_id: PlatformId) -> SwitchOutcome:
        checked_id(platform_id, "platform_id")
        try:
            update, platform, now = self._switch_once(session, platform_id)
        except CommitOutcomeUnknown as unknown:
            update, platform, now = resolve_unknown_commit(
                unknown, lambda: self._switch_again(session, platform_id)
            )
        if not update.changed:
            # Decided on the stored session (re-read in the unit of work if the caller's copy
            # already showed the target), which is what the outcome carries: never the caller's
            # copy, which may predate a switch another request was told succeeded.
            return SwitchOutcome(SessionContext(update.session, platform), changed=False)
        switched = update.session
        self.publisher.publish(
            PlatformSwitched(
                user_id=switched.logged_in_user_id,
                occurred_at=now,
                session_handle=switched.handle,
                from_platform_id=update.decided_on.active_platform_id,  # as it was, not as read
                to_platform_id=platform_id,
            )
        )
        if self.policy.rotate_token_on_switch:
            rotated = self.rotate(switched)
            return SwitchOutcome(
                SessionContext(rotated.session, platform), changed=True, new_token=rotated.token
            )
        return SwitchOutcome(SessionContext(switched, platform), changed=True)

    def _switch_once(
        self, session: UserSession, platform_id: PlatformId
    ) -> tuple[VersionedUpdate, PlatformConnection, datetime]:
        """Step 1: what the versioned update decided, the platform as stamped, and the time."""

        def plan(current: UserSession) -> SessionChanges | None:
            if current.active_platform_id == platform_id:
                return None
            return SessionChanges(active_platform_id=platform_id)

        user_id = session.logged_in_user_id  # a visitor's session has no platforms: before any I/O
        now = self.clock.now()
        with self.uow_factory() as uow:
            platform = require_usable(uow.platforms.get(platform_id), user_id, platform_id)
            update = update_with_retry(self.sessions, session, plan, within=uow)
            if not update.changed:
                return update, platform, now  # leaving rolls back: nothing
            uow.platforms.stamp_last_used(platform_id, now)
            uow.commit()
        return update, attrs.evolve(platform, last_used_at=now), now

    def _switch_again(
        self, session: UserSession, platform_id: PlatformId
    ) -> tuple[VersionedUpdate, PlatformConnection, datetime]:
        fresh = self.sessions.get(session.token_digest)
        if fresh is None or fresh.session_id != session.session_id:
            raise SessionNotFound("the session ended during the switch")
        update, platform, now = self._switch_once(fresh, platform_id)
        if update.changed:
            return update, platform, now
        # Nothing left to do means the lost commit landed (or another request made the same
        # switch): the session is where it was asked to be, and the switch is reported as made,
        # from the platform the caller's session had.
        return VersionedUpdate(decided_on=session, session=update.session, changed=True), platform, now
