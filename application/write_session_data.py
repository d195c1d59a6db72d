"""WriteSessionData: set and delete keys of a session's data, each key written on its own."""

from __future__ import annotations

from attrs import frozen

from platform_sessions.application.outcome_unknown import resolve_unknown_commit
from platform_sessions.domain.errors import (
    CommitOutcomeUnknown,
    ConcurrentUpdate,
    SessionDataTooLarge,
    SessionNotFound,
)
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import UserSessionRepository
from platform_sessions.domain.session import UserSession
from platform_sessions.domain.session_data import SessionDataChanges, entry_size


@frozen
class WriteSessionData:
    """Merge ``changes`` into the stored data of ``session`` (see
    :meth:`UserSessionRepository.write_data`): keys not named stay as stored, so concurrent
    requests writing different keys both keep their write.

    For one key, the last acknowledged write wins; pass ``expected_version`` (the version the
    caller read) for a compare-and-set instead, which raises :class:`ConcurrentUpdate` if the
    session changed since. Every write counts one version. Empty changes write nothing and
    return ``session`` as given (an unchanged request costs no write).

    Raises :class:`SessionDataTooLarge` (a value over the policy's ``max_data_value_bytes``, or
    the keys set over ``max_data_bytes``, before any I/O; or the merged data over
    ``max_data_bytes``, nothing written) and
    :class:`SessionNotFound` if the session is gone (never recreated).

    If the store lost the commit's acknowledgement (:class:`CommitOutcomeUnknown`), the session
    is read again: if its data shows the change (and, for a compare-and-set, its version moved
    past ``expected_version``), the write is taken as landed; else it is made again.
    """

    sessions: UserSessionRepository
    policy: SessionPolicy

    def __call__(
        self, session: UserSession, changes: SessionDataChanges, *, expected_version: int | None = None
    ) -> UserSession:
        if changes.is_empty:
            return session
        if changes.max_value_bytes != self.policy.max_data_value_bytes:
            # Built without the policy (or another one): check the values against this policy's limit.
            changes = SessionDataChanges.for_policy(
                self.policy.max_data_value_bytes, set=changes.set, delete=changes.delete
            )
        new_bytes = sum(entry_size(key, text) for key, text in changes.encoded.items())
        if new_bytes > self.policy.max_data_bytes:
            # The merged data holds at least these keys: refused before any I/O.
            raise SessionDataTooLarge(
                f"the keys set are {new_bytes} bytes once encoded, more than {self.policy.max_data_bytes}"
            )
        try:
            return self._write(session, changes, expected_version)
        except CommitOutcomeUnknown as unknown:
            return resolve_unknown_commit(
                unknown, lambda: self._landed_or_again(session, changes, expected_version)
            )

    def _write(
        self, session: UserSession, changes: SessionDataChanges, expected_version: int | None
    ) -> UserSession:
        return self.sessions.write_data(
            session, changes, max_bytes=self.policy.max_data_bytes, expected_version=expected_version
        )

    def _landed_or_again(
        self, session: UserSession, changes: SessionDataChanges, expected_version: int | None
    ) -> UserSession:
        landed = self._landed(session, changes, expected_version)
        if landed is not None:
            return landed
        # The size was checked before the first attempt; the changes are the same.
        try:
            return self._write(session, changes, expected_version)
        except ConcurrentUpdate:
            # The lost commit may have landed after the look-up (it was still on its way).
            landed = self._landed(session, changes, expected_version)
            if landed is None:
                raise
            return landed

    def _landed(
        self, session: UserSession, changes: SessionDataChanges, expected_version: int | None
    ) -> UserSession | None:
        stored = self.sessions.get(session.token_digest)
        if stored is None or stored.session_id != session.session_id:
            raise SessionNotFound("the session ended during the data write")
        if expected_version is not None and stored.version <= expected_version:
            return None
        return stored if changes.is_reflected_in(stored.data) else None
