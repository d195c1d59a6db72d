"""The user session statements, run inside a transaction that the caller opened and ends.

:class:`SqlAlchemyUserSessionRepository` wraps each call in its own short transaction. Code
that must write a session together with something else atomically (a transactional outbox,
say) builds this class on its own database session instead; nothing here commits, rolls back
or translates errors (wrap the transaction in ``translated_errors``).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.orm import Session

from platform_sessions.adapters.sqlalchemy.session_records import (
    NO_DATA,
    UndecodableSessionRecord,
    data_row_values,
    digest_values,
    session_from_row,
    session_values,
    stored_expiry,
)
from platform_sessions.adapters.sqlalchemy.tables import SqlTables, UserSessionColumns
from platform_sessions.adapters.sqlalchemy.user_lock import lock_user_sessions
from platform_sessions.domain.attributes import canonical_json, checked_attributes
from platform_sessions.domain.errors import ConcurrentUpdate, SessionDataTooLarge, SessionNotFound
from platform_sessions.domain.ids import SessionId, UserId
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.session import SessionChanges, Unchanged, UserSession
from platform_sessions.domain.session_data import SessionDataChanges, entry_size
from platform_sessions.domain.token import RoutingTag, TokenDigest

logger = logging.getLogger(__name__)

# Statements below only ever hand rows out; the identity map must never answer with a row
# as it was before an UPDATE of this same transaction.
_FRESH = {"populate_existing": True}
# DML here targets rows by criteria the ORM cannot evaluate in Python; nothing to sync.
_NO_SYNC = {"synchronize_session": False}

EncodedData = Mapping[str, str]
"""A session's data as stored: key to canonical JSON text."""


class UserSessionsInTransaction:
    """The ``UserSessionRepository`` operations as statements on a given database session."""

    def __init__(self, session: Session, tables: SqlTables, policy: SessionPolicy) -> None:
        self._session = session
        self._rows = tables.user_sessions
        self._data = tables.session_data
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
            self._insert(new)
            return []
        lock_user_sessions(self._session, self._tables, new.user_id)
        self._insert(new)
        now = new.last_seen_at if expired_before is None else expired_before
        others_of_user = (rows.user_id == new.user_id, rows.session_id != new.session_id)
        expired = self._session.scalars(
            delete(rows)
            .where(*others_of_user, rows.expires_at <= now)
            .returning(rows.session_id)
            .execution_options(**_NO_SYNC)
        ).all()
        self._delete_data(expired)
        live_others = self._session.scalars(
            self._select()
            .where(*others_of_user)
            .order_by(rows.last_seen_at, rows.created_at, rows.session_id)
        ).all()
        evicted = live_others[: max(len(live_others) + 1 - max_sessions, 0)]
        if not evicted:
            return []
        doomed = [row.session_id for row in evicted]
        self._session.execute(delete(rows).where(rows.session_id.in_(doomed)).execution_options(**_NO_SYNC))
        return self._decoded_all(evicted, self._delete_data(doomed))

    def count_for_user(self, user_id: UserId) -> int:
        """How many rows ``user_id`` has, expired or not, under the user's lock (as :meth:`create`
        takes it, so no login of the user can add one before this transaction ends)."""
        lock_user_sessions(self._session, self._tables, user_id)
        rows = self._rows
        counted = self._session.scalar(select(func.count()).select_from(rows).where(rows.user_id == user_id))
        return int(counted or 0)

    def get(self, digest: TokenDigest) -> UserSession | None:
        """The session stored under ``digest`` and its data: one query (a lookup on the unique
        index, outer-joined to the data rows by the data table's primary key), or ``None``."""
        rows, data = self._rows, self._data
        found = self._session.execute(
            select(rows, data.key, data.value)
            .outerjoin(data, data.session_id == rows.session_id)
            .where(rows.token_digest == digest.hex)
            .execution_options(**_FRESH)
        ).all()
        if not found:
            return None
        encoded = {key: value for _, key, value in found if key is not None}
        return self._decoded(found[0][0], encoded)

    def write_data(
        self,
        session: UserSession,
        changes: SessionDataChanges,
        *,
        max_bytes: int,
        expected_version: int | None = None,
    ) -> UserSession:
        """Merge ``changes`` into the session's data rows (see the port's ``write_data``).

        The session row is locked first (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's
        write transaction holds the database), so data writes of one session take turns and
        each reads the data as the previous one left it. Then: the data rows read, the merged
        size checked (too large: nothing written), one UPDATE of the session row (version + 1,
        the new ``data_bytes``), one DELETE of the changed keys and one INSERT of the set ones.
        Only the keys ``changes`` names are written; every other row stays as it is.
        """
        rows, data = self._rows, self._data
        stored = self._session.scalars(
            self._select().where(rows.session_id == session.session_id).with_for_update()
        ).one_or_none()
        if stored is None or stored.token_digest != session.token_digest.hex:
            raise SessionNotFound("the session is gone; a data write never recreates it")
        if expected_version is not None and stored.version != expected_version:
            raise ConcurrentUpdate(
                f"the session is at version {stored.version}, not {expected_version} as expected"
            )
        current = self._session.execute(
            select(data.key, data.value).where(data.session_id == session.session_id)
        ).all()
        named = changes.keys
        merged = {key: value for key, value in current if key not in named}
        merged.update(changes.encoded)
        size = sum(entry_size(key, value) for key, value in merged.items())
        if size > max_bytes:
            raise SessionDataTooLarge(f"session data would be {size} bytes, more than {max_bytes}")
        written = self._session.scalars(
            update(rows)
            .where(rows.session_id == session.session_id)
            .values(version=rows.version + 1, data_bytes=size)
            .returning(rows)
            .execution_options(**_FRESH, **_NO_SYNC)
        ).one()
        self._session.execute(
            delete(data)
            .where(data.session_id == session.session_id, data.key.in_(named))
            .execution_options(**_NO_SYNC)
        )
        if changes.encoded:
            self._session.execute(
                insert(data).values(data_row_values(session.session_id, changes.encoded.items()))
            )
        result = self._decoded(written, merged)
        if result is None:
            raise SessionNotFound("the stored session cannot be decoded")
        return result

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
                expires_at=stored_expiry(
                    seen_at, session.absolute_expires_at, self._policy, user_id=session.user_id
                ),
            )
            .returning(rows)
            .execution_options(**_FRESH, **_NO_SYNC)
        ).one_or_none()
        if touched is None:  # already seen later, or gone
            touched = self._session.scalars(self._select().where(*of_this_token)).one_or_none()
        if touched is None:
            return None
        return self._decoded(touched, self._data_of(touched, known=session, known_version=session.version))

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
        self._delete_data([session.session_id])
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
        return self._decoded_all(deleted, self._delete_data([row.session_id for row in deleted]))

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
        purged = self._session.scalars(
            delete(rows)
            .where(rows.session_id.in_(batch), rows.expires_at <= now)
            .returning(rows.session_id)
            .execution_options(**_NO_SYNC)
        ).all()
        self._delete_data(purged)
        return len(purged)

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
        # Matched at session.version: its data is the caller's (versions count data writes).
        stored = self._decoded(
            updated, self._data_of(updated, known=session, known_version=session.version + 1)
        )
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

    def _insert(self, new: UserSession) -> None:
        self._session.execute(insert(self._rows).values(session_values(new, self._policy)))
        if new.data:
            encoded = ((key, canonical_json(value)) for key, value in new.data.items())
            self._session.execute(insert(self._data).values(data_row_values(new.session_id, encoded)))

    def _data_of(
        self, row: UserSessionColumns, *, known: UserSession, known_version: int
    ) -> EncodedData | UserSession:
        """The data of a row just written: ``known``'s if the row is at ``known_version`` (no
        data write came between: versions count them), else read (one query), or none."""
        if row.data_bytes == 0:
            return NO_DATA
        if row.session_id == known.session_id and row.version == known_version:
            return known
        return self._encoded_data([row.session_id]).get(row.session_id, NO_DATA)

    def _encoded_data(self, session_ids: Collection[str]) -> dict[str, dict[str, str]]:
        """The data rows of these sessions, in one query."""
        if not session_ids:
            return {}
        data = self._data
        found: dict[str, dict[str, str]] = {}
        for session_id, key, value in self._session.execute(
            select(data.session_id, data.key, data.value).where(data.session_id.in_(session_ids))
        ):
            found.setdefault(session_id, {})[key] = value
        return found

    def _delete_data(self, session_ids: Collection[str]) -> dict[str, dict[str, str]]:
        """Delete the data rows of sessions deleted in this transaction (one statement, none
        for no session); returns what they held. Run after the sessions' own DELETE, which
        waited for any data write of theirs in flight, so no row is left behind."""
        if not session_ids:
            return {}
        data = self._data
        found: dict[str, dict[str, str]] = {}
        for session_id, key, value in self._session.execute(
            delete(data)
            .where(data.session_id.in_(session_ids))
            .returning(data.session_id, data.key, data.value)
            .execution_options(**_NO_SYNC)
        ):
            found.setdefault(session_id, {})[key] = value
        return found

    def _decoded(
        self, row: UserSessionColumns | None, data: EncodedData | UserSession = NO_DATA
    ) -> UserSession | None:
        if row is None:
            return None
        try:
            if isinstance(data, UserSession):
                return attrs.evolve(session_from_row(row), data=data.data)
            return session_from_row(row, data)
        except UndecodableSessionRecord as error:
            logger.warning(
                "user session record %s cannot be decoded, treated as absent: %s", row.session_id, error
            )
            return None

    def _decoded_all(
        self, found: Iterable[UserSessionColumns], data: Mapping[str, EncodedData] | None = None
    ) -> list[UserSession]:
        """The sessions of ``found`` with their data (``data``, else read in one query)."""
        found = list(found)
        if data is None:
            data = self._encoded_data([row.session_id for row in found if row.data_bytes > 0])
        sessions = (self._decoded(row, data.get(row.session_id, NO_DATA)) for row in found)
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
