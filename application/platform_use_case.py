"""What the platform connection use cases share: ownership, commit-then-notify, repointing."""

from __future__ import annotations

import logging

import attrs
from attrs import frozen

from platform_sessions.application.platform_choice import usable_or_none
from platform_sessions.application.versioned_update import update_with_retry
from platform_sessions.domain.errors import ConcurrentUpdate, PlatformNotFound, SessionNotFound
from platform_sessions.domain.events import PlatformChange, PlatformConnectionChanged
from platform_sessions.domain.ids import PlatformId, UserId, checked_id
from platform_sessions.domain.platform import PlatformConnection
from platform_sessions.domain.ports import (
    Clock,
    EventPublisher,
    PlatformDirectory,
    UnitOfWork,
    UnitOfWorkFactory,
    UserSessionRepository,
)
from platform_sessions.domain.session import SessionChanges, UserSession

logger = logging.getLogger(__name__)


@frozen
class PlatformUseCase:
    """Base of the use cases that change platform connections.

    Each runs in one unit of work; after it commits, the directory's cache for the user is
    invalidated and the recorded events are published, in that order, so that a tab reacting
    to the event already reads fresh data.
    """

    uow_factory: UnitOfWorkFactory
    directory: PlatformDirectory
    sessions: UserSessionRepository
    publisher: EventPublisher
    clock: Clock

    def _owned(self, uow: UnitOfWork, user_id: UserId, platform_id: PlatformId) -> PlatformConnection:
        checked_id(user_id, "user_id")
        checked_id(platform_id, "platform_id")
        platform = uow.platforms.get(platform_id)
        if platform is None or platform.user_id != user_id:
            raise PlatformNotFound(f"no platform {platform_id!r} for this user")
        return platform

    def _clear_other_defaults(self, uow: UnitOfWork, user_id: UserId, keep: PlatformId | None) -> None:
        # Unset before set: a database enforcing "one default per user" checks each statement.
        for other in uow.platforms.list_for_user(user_id):
            if other.is_default and other.id != keep:
                uow.platforms.update(attrs.evolve(other, is_default=False))

    def _commit(self, uow: UnitOfWork, platform: PlatformConnection, change: PlatformChange) -> None:
        uow.record(
            PlatformConnectionChanged(
                user_id=platform.user_id,
                occurred_at=self.clock.now(),
                platform_id=platform.id,
                change=change,
            )
        )
        uow.commit()

    def _after_commit(self, uow: UnitOfWork, user_id: UserId) -> None:
        self.directory.invalidate(user_id)
        for event in uow.collect_new_events():
            self.publisher.publish(event)

    def _repoint_sessions(self, user_id: UserId, gone: PlatformId) -> None:
        """Move the user's sessions off a platform that can no longer be used.

        Resolving already falls back on every read; this keeps the stored state honest so a
        later reactivation does not silently pull old sessions back onto the platform.
        """
        default = usable_or_none(self.directory.default_for(user_id), user_id)
        target = default.id if default is not None and default.id != gone else None

        def plan(current: UserSession) -> SessionChanges | None:
            if current.active_platform_id != gone:
                return None
            return SessionChanges(active_platform_id=target)

        for session in self.sessions.list_for_user(user_id, self.clock.now()):
            if session.active_platform_id != gone:
                continue
            try:
                update_with_retry(self.sessions, session, plan)
            except SessionNotFound:
                continue
            except ConcurrentUpdate:
                logger.warning("could not repoint a busy session off platform %s", gone)
