"""Where user sessions are kept (Redis, SQL, memory), with versioned, never-resurrecting writes."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import datetime

from platform_sessions.domain.ids import SessionId, UserId
from platform_sessions.domain.ports.unit_of_work import UnitOfWork
from platform_sessions.domain.session import SessionChanges, UserSession
from platform_sessions.domain.session_data import SessionDataChanges
from platform_sessions.domain.token import TokenDigest


class UserSessionRepository(abc.ABC):
    """The store of user sessions.

    Semantics every implementation keeps (the contract tests check them):

    - A store answers found, not found, or raises :class:`StoreUnavailable`; only "not found"
      may make a caller treat a user as anonymous.
    - Only creation creates. An update, rotation or touch of a session that is gone fails or
      does nothing; it never brings the session back (no zombies).
    - Updates are compare-and-set on ``version``: the write states the version it read and
      fails with :class:`ConcurrentUpdate` if another writer got there first.
    - Expired sessions may linger until purged but are never listed as live.
    - Anonymous sessions (``user_id is None``) are stored, read, changed, touched, rotated,
      deleted and purged like any other, but belong to no user: no per-user index or limit,
      never listed or deleted by the ``*_for_user`` methods.
    """

    @abc.abstractmethod
    def create(self, session: UserSession, *, max_sessions: int) -> Sequence[UserSession]:
        """Store a new session and, in the same atomic step, enforce the per-user limit.

        If the user then has more than ``max_sessions`` live sessions, the least recently seen
        others are deleted and returned (the new session is never evicted).

        Every field is stored, ``data`` and ``persistent_cookie`` included. An anonymous
        session (``user_id is None``) ignores ``max_sessions``, evicts nothing and returns
        ``[]``; it joins no user's index.
        """

    @abc.abstractmethod
    def get(self, digest: TokenDigest, *, within: UnitOfWork | None = None) -> UserSession | None:
        """The session whose token has this digest, or ``None``.

        A stored record that cannot be decoded is logged and reported as ``None``.

        With ``within``, the answer is the record the storage decides writes on, as it stands
        in that unit of work: it reflects every write acknowledged before the call, and the
        unit of work's own (not yet committed) ones. A storage whose durable session records
        live in that unit of work's database reads them there, in its transaction (skipping a
        faster copy that may lag, such as a cache); others read as without it, since their
        every read already is that record. A use case that decides "nothing to do" reads this
        way, so the decision never rests on state older than a write another request was told
        succeeded.
        """

    @abc.abstractmethod
    def update(
        self, session: UserSession, changes: SessionChanges, *, within: UnitOfWork | None = None
    ) -> UserSession:
        """Apply ``changes`` if the stored version still is ``session.version``.

        Returns the stored session, one version later. Raises :class:`ConcurrentUpdate` on a
        version mismatch and :class:`SessionNotFound` if the session is gone (never recreates),
        with or without ``within``.

        With ``within``, a storage whose durable session records live in that unit of work's
        database writes the change in its transaction: it becomes durable and visible to
        others only when ``within`` commits, and is discarded if it does not. Other storages
        make the change at once, as without it. Either way the caller commits ``within``
        afterwards. A lost race leaves ``within`` usable, so the caller may re-read and retry
        in the same unit of work.
        """

    @abc.abstractmethod
    def write_data(
        self,
        session: UserSession,
        changes: SessionDataChanges,
        *,
        max_bytes: int,
        expected_version: int | None = None,
        within: UnitOfWork | None = None,
    ) -> UserSession:
        """Merge ``changes`` into the session's stored data, key by key; returns the stored
        session.

        Keys in ``changes.set`` take the new value, keys in ``changes.delete`` go, and every
        other key stays as stored: a concurrent write of a different key survives, whatever
        version this caller read. For the same key the last acknowledged write wins; with
        ``expected_version`` the write is a compare-and-set instead, raising
        :class:`ConcurrentUpdate` (and writing nothing) if the stored version is not that one.

        Every successful call is one versioned change: the stored ``version`` goes up by
        exactly one (so versions count every write), the other fields stay as stored.

        Raises :class:`SessionNotFound` if no session with ``session.session_id`` answers to
        ``session.token_digest`` any more (ended, purged, or rotated since); it never recreates
        one. Raises :class:`SessionDataTooLarge` if the merged data would be larger than
        ``max_bytes`` (measured as :func:`~platform_sessions.domain.session_data.data_size`
        does), writing nothing. ``changes`` is not empty (the use case writes nothing then).

        ``within`` as in :meth:`update`: a storage whose durable session records live in that
        unit of work's database writes the change in its transaction.
        """

    @abc.abstractmethod
    def rotate(self, session: UserSession, new_digest: TokenDigest, new_csrf_token: str) -> UserSession:
        """Move the session to a new token digest and a new CSRF token, keeping its id and
        data, versioned like :meth:`update`. The old digest stops resolving in the same step,
        and the old CSRF token stops matching (a page rendered before the rotation, or a token
        that leaked with the old cookie, is no use after it)."""

    @abc.abstractmethod
    def touch(self, session: UserSession, seen_at: datetime) -> UserSession | None:
        """Record that the session was seen at ``seen_at`` and extend its idle deadline.

        Not a versioned change (the version stays). Returns the stored session, or ``None``
        if it is gone, in which case nothing is written.
        """

    @abc.abstractmethod
    def delete(self, session: UserSession) -> bool:
        """End the session whose stable id is ``session.session_id``, under whatever token it
        has now; ``False`` if no session with that id is left (already ended, evicted, purged).

        ``session`` is the session as the caller read it, at any version and under any token
        it has had: a concurrent request that updated or rotated it since does not save it (a
        logout must not lose a race with a rotation). Afterwards no token the session ever had
        resolves, and nothing brings it back: a store that keeps copies (a cache, a mirror)
        forgets every one of them, and an update, rotation or touch of it fails or does nothing.
        Atomic: a rotation racing with it either happened before (and its new token is ended
        too) or fails with :class:`SessionNotFound`.
        """

    @abc.abstractmethod
    def list_for_user(self, user_id: UserId, now: datetime) -> Sequence[UserSession]:
        """The user's sessions live at ``now``, most recently seen first."""

    @abc.abstractmethod
    def delete_all_for_user(self, user_id: UserId, *, keep: SessionId | None = None) -> Sequence[UserSession]:
        """Delete every session of ``user_id`` except the one with id ``keep``, atomically.

        Returns the deleted sessions.
        """

    @abc.abstractmethod
    def purge_expired(self, now: datetime, *, batch_size: int = 1000) -> int:
        """Delete sessions expired at ``now`` in batches of at most ``batch_size``.

        Returns how many were deleted. Correctness never depends on it: expiry is also
        enforced on every read.
        """
