"""PurgeExpiredSessions: the sweeper, run from a command or a scheduler, never in a request."""

from __future__ import annotations

from attrs import frozen

from platform_sessions.domain.errors import InvalidInput
from platform_sessions.domain.ports import Clock, UserSessionRepository


@frozen
class PurgeExpiredSessions:
    """Delete expired sessions in bounded batches; returns how many were deleted.

    Only housekeeping: every read enforces expiry, so nothing depends on it running.
    """

    sessions: UserSessionRepository
    clock: Clock

    def __call__(self, *, batch_size: int = 1000) -> int:
        if batch_size < 1:
            raise InvalidInput("batch_size must be at least 1")
        return self.sessions.purge_expired(self.clock.now(), batch_size=batch_size)
