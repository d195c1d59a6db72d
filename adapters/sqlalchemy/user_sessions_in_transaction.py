"""The user session statements, run inside a transaction that the caller opened and ends.

:class:`SqlAlchemyUserSessionRepository` wraps each call in its own short transaction. Code
that must write a session together with something else atomically (a transactional outbox,
say) builds this class on its own database session instead; nothing here commits, rolls back
or translates errors (wrap the transaction in ``translated_errors``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Select, delete, func, insert, select, update
from sqlalchemy.orm import Session

from platform_sessions.adapters.sqlalchemy.session_records import (
    UndecodableSessionRecord,
    digest_values,
    session_from_row,
    session_values,
    stored_expiry,
)
from platform_sessions.adapters.sqlalchemy.tables import SqlTables, UserSessionColumns
from platform_sessions.adapters.sqlalchemy.user_lock import lock_user_sessions
from platform_sessions.domain.attributes import checked_attributes
from platform_sessions.domain.errors import ConcurrentUpdate, SessionNotFound
from platform_sessions.domain.ids import SessionId, UserId
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.session import SessionChanges, Unchanged, UserSession
from platform_sessions.domain.token import RoutingTag, TokenDigest

logger = logging.getLogger(__name__)

# Statements below only ever hand rows out; the identity map must never answer with a row
# as it was before an UPDATE of this same transaction.
_FRESH = {"populate_existing": True}
# DML here targets rows by criteria the ORM cannot evaluate in Python; nothing to sync.
_NO_SYNC = {"synchronize_session": False}


class UserSessionsInTransaction:
    """The ``UserSessionRepository`` operations as statements on a given database session."""

    def __init__(self, session: Session, tables: SqlTables, policy: SessionPolicy) -> None:
        self._session = session
        self._rows = tables.user_sessions
        self._tables = tables
        self._policy = policy

    def create(
        self, new: UserSession, *, max_sessions: int, expired_before: datetime | None = None
    ) -> list[UserSession]:
        """INSERT ``new`` and evict the user's least recently seen sessions over the limit.

        The user's lock is taken first, so two logins of one user at the same moment count
        each other. Expired sessions of the user are deleted on the way (they do not count):
        those whose stored ``expires_at`` is before ``expired_before`` (default: the new
        session's start; a store whose ``last_seen_at`` lags behind a cache passes earlier).
        Raises ``IntegrityError`` if the token digest or id is already stored.
        """
        rows = self._rows
        if new.user_id is None:
            # A visitor's session belongs to no user: no lock, no limit, nothing evicted.
            self._session.execute(insert(rows).values(session_values(new, self._policy)))
            return []
        lock_user_sessions(self._session, self._tables, new.user_id)
        self._session.execute(insert(rows).values(session_values(new, self._policy)))
        now = new.last_seen_at if expired_before is None else expired_before
        others_of_user = (rows.user_id == new.user_id, rows.session_id != new.session_id)
        self._session.execute(
            delete(rows).where(*others_of_user, rows.expires_at <= now).execution_options(**_NO_SYNC)
        )
        live_others = self._session.scalars(
            self._select()
            .where(*others_of_user)
            .order_by(rows.last_seen_at, rows.created_at, rows.session_id)
        ).all()
        evicted = live_others[: max(len(live_others) + 1 - max_sessions, 0)]
        if evicted:
            doomed = [row.session_id for row in evicted]
            self._session.execute(
                delete(rows).where(rows.session_id.in_(doomed)).execution_options(**_NO_SYNC)
            )
        return self._decoded_all(evicted)

    def get(self, digest: TokenDigest) -> UserSession | None:
        """The session stored under ``digest`` (one lookup on the unique index), or ``None``."""
        row = self._session.scalars(self._select().where(self._rows.token_digest == digest.hex)).one_or_none()
        return self._decoded(row)

    def update(self, session: UserSession, changes: SessionChanges) -> UserSession:
        """``UPDATE ... SET <changed columns>, version = version + 1 WHERE session_id = ? AND
        version = ?``; on zero rows, tells a lost race from a session that is gone."""
        return self._versioned_update(session, _changed_columns(changes))

    def rotate(self, session: UserSession, new_digest: TokenDigest, new_csrf_token: str) -> UserSession:
        """Move the session to ``new_digest`` and ``new_csrf_token``, versioned like :meth:`update`."""
        return self._versioned_update(session, {**digest_values(new_digest), "csrf_token": new_csrf_token})

    def touch(self, session: UserSession, seen_at: datetime) -> UserSession | None:
        """Move ``last_seen_at`` (and ``expires_at`` with it) forward, never back, version kept.

        Keyed by id and token digest: a session rotated since it was read is another token's
        now, and touching it for the old one would be wrong. ``None`` if it is gone.
        """
        rows = self._rows
        of_this_token = (rows.session_id == session.session_id, rows.token_digest == session.token_digest.hex)
        touched = self._session.scalars(
            update(rows)
            .where(*of_this_token, rows.last_seen_at < seen_at)
            .values(
                last_seen_at=seen_at,
                expires_at=stored_expiry(seen_at, session.absolute_expires_at, self._policy),
            )
            .returning(rows)
            .execution_options(**_FRESH, **_NO_SYNC)
        ).one_or_none()
        if touched is None:  # already seen later, or gone
            touched = self._session.scalars(self._select().where(*of_this_token)).one_or_none()
        return self._decoded(touched)

    def delete(self, session: UserSession) -> TokenDigest | None:
        """Delete the session by its id, whatever token it has now (a rotation since it was
        read does not save it). Returns the digest of that token (the caller's own if the
        stored one cannot be read), or ``None`` if there was no such session."""
        rows = self._rows
        deleted = self._session.execute(
            delete(rows)
            .where(rows.session_id == session.session_id)
            .returning(rows.token_digest, rows.token_routing_tag)
            .execution_options(**_NO_SYNC)
        ).one_or_none()
        if deleted is None:
            return None
        try:
            return TokenDigest(deleted.token_digest, RoutingTag(deleted.token_routing_tag))
        except (ValueError, TypeError) as error:
            logger.warning(
                "user session record %s had an unreadable token digest: %s", session.session_id, error
            )
            return session.token_digest

    def list_for_user(self, user_id: UserId, now: datetime) -> list[UserSession]:
        """The user's sessions live at ``now``, most recently seen first (one indexed query)."""
        rows = self._rows
        found = self._session.scalars(
            self._select()
            .where(rows.user_id == user_id, rows.expires_at > now)
            .order_by(rows.last_seen_at.desc(), rows.created_at.desc(), rows.session_id)
        ).all()
        # expires_at was computed with the policy of its last write; the current one decides.
        return [s for s in self._decoded_all(found) if s.expiry_reason(now, self._policy) is None]

    def delete_all_for_user(self, user_id: UserId, *, keep: SessionId | None = None) -> list[UserSession]:
        """Delete the user's sessions but ``keep`` in one statement; returns what it deleted."""
        rows = self._rows
        criteria = [rows.user_id == user_id]
        if keep is not None:
            criteria.append(rows.session_id != keep)
        deleted = self._session.scalars(
            delete(rows).where(*criteria).returning(rows).execution_options(**_FRESH, **_NO_SYNC)
        ).all()
        return self._decoded_all(deleted)

    def live_page(self, now: datetime, *, after: str, limit: int) -> list[UserSession]:
        """Up to ``limit`` sessions live at ``now`` (by stored ``expires_at``) whose id sorts
        after ``after``, in id order: a keyset page, for bulk loads that must not hold one
        long transaction."""
        rows = self._rows
        found = self._session.scalars(
            self._select()
            .where(rows.expires_at > now, rows.session_id > after)
            .order_by(rows.session_id)
            .limit(limit)
        ).all()
        return self._decoded_all(found)

    def count_live(self, now: datetime) -> int:
        """How many sessions are live at ``now`` by their stored ``expires_at``."""
        rows = self._rows
        return int(
            self._session.scalar(select(func.count()).select_from(rows).where(rows.expires_at > now)) or 0
        )

    def purge_batch(self, now: datetime, batch_size: int) -> int:
        """Delete at most ``batch_size`` sessions expired at ``now``, soonest expired first.

        The batch is picked on the ``expires_at`` index. On PostgreSQL, rows another
        transaction holds (a touch in flight) are skipped rather than waited for, and the
        outer condition is re-checked on the latest row version, so a session touched back
        to life between the pick and the delete survives.
        """
        rows = self._rows
        batch = (
            select(rows.session_id)
            .where(rows.expires_at <= now)
            .order_by(rows.expires_at)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        result = self._session.execute(
            delete(rows)
            .where(rows.session_id.in_(batch), rows.expires_at <= now)
            .execution_options(**_NO_SYNC)
        )
        return _rowcount(result)

    def _versioned_update(self, session: UserSession, values: dict[str, Any]) -> UserSession:
        rows = self._rows
        updated = self._session.scalars(
            update(rows)
            .where(rows.session_id == session.session_id, rows.version == session.version)
            .values(**values, version=rows.version + 1)
            .returning(rows)
            .execution_options(**_FRESH, **_NO_SYNC)
        ).one_or_none()
        if updated is None:
            raise self._why_not_updated(session)
        stored = self._decoded(updated)
        if stored is None:
            raise SessionNotFound("the stored session cannot be decoded")
        return stored

    def _why_not_updated(self, session: UserSession) -> Exception:
        current = self._session.scalars(
            self._select().where(self._rows.session_id == session.session_id)
        ).one_or_none()
        if current is None or current.token_digest != session.token_digest.hex:
            # Gone, or rotated to another token since it was read: never recreated.
            return SessionNotFound("the session is gone; an update never recreates it")
        return ConcurrentUpdate(f"the session is at version {current.version}, not {session.version} as read")

    def _select(self) -> Select[UserSessionColumns]:
        return select(self._rows).execution_options(**_FRESH)

    def _decoded(self, row: UserSessionColumns | None) -> UserSession | None:
        if row is None:
            return None
        try:
            return session_from_row(row)
        except UndecodableSessionRecord as error:
            logger.warning(
                "user session record %s cannot be decoded, treated as absent: %s", row.session_id, error
            )
            return None

    def _decoded_all(self, found: Iterable[UserSessionColumns]) -> list[UserSession]:
        sessions = (self._decoded(row) for row in found)
        return [session for session in sessions if session is not None]


def _changed_columns(changes: SessionChanges) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if not isinstance(changes.active_platform_id, Unchanged):
        values["active_platform_id"] = changes.active_platform_id
    if not isinstance(changes.attributes, Unchanged):
        values["attributes"] = checked_attributes(dict(changes.attributes))
    if not isinstance(changes.csrf_token, Unchanged):
        values["csrf_token"] = changes.csrf_token
    return values


def _rowcount(result: object) -> int:
    # DML results are cursor results; the ORM's execute() is typed for the general case.
    return cast(CursorResult[Any], result).rowcount
