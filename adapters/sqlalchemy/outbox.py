"""The transactional outbox: Redis work owed by committed changes, as rows in ``<prefix>outbox``.

The statements run on a caller's database session, inside the transaction of the change they
describe (written together, or not at all); nothing here commits.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime

from attrs import frozen
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from platform_sessions.adapters.sqlalchemy.tables import SqlTables
from platform_sessions.domain.ids import UserId
from platform_sessions.domain.token import RoutingTag, TokenDigest


class OutboxKind(enum.Enum):
    """What an outbox row asks Redis to bring in line with the database."""

    SESSION = "session"  # the session stored under one token digest (present, or gone for good)
    PLATFORMS = "platforms"  # a user's platform cache (drop it)


@frozen
class OutboxEntry:
    """One row: what to bring in line, and how long a tombstone for its digest must last."""

    kind: OutboxKind
    user_id: UserId | None  # None: the session is anonymous (a platform cache always has a user)
    token_digest: TokenDigest | None = None
    absolute_expires_at: datetime | None = None
    entry_id: int | None = None

    @classmethod
    def for_session(
        cls, user_id: UserId | None, digest: TokenDigest, absolute_expires_at: datetime
    ) -> OutboxEntry:
        """Work owed for the session under ``digest``."""
        return cls(OutboxKind.SESSION, user_id, digest, absolute_expires_at)

    @classmethod
    def for_platforms(cls, user_id: UserId) -> OutboxEntry:
        """Work owed for ``user_id``'s platform cache."""
        return cls(OutboxKind.PLATFORMS, user_id)


@frozen
class OutboxStats:
    """How many rows wait, and since when the oldest."""

    depth: int
    oldest_created_at: datetime | None


class OutboxInTransaction:
    """Add, claim and clear outbox rows on a given database session."""

    def __init__(self, session: Session, tables: SqlTables) -> None:
        self._session = session
        self._rows = tables.outbox
        self.added_ids: list[int] = []
        """Ids of the rows :meth:`add` wrote in this transaction (they exist once it commits)."""

    def add(self, entries: Sequence[OutboxEntry], now: datetime) -> list[OutboxEntry]:
        """INSERT one row per entry, in one statement; returns the entries with their row ids."""
        if not entries:
            return []
        rows = self._rows
        values = [
            {
                "kind": entry.kind.value,
                "user_id": entry.user_id,
                "token_digest": entry.token_digest.hex if entry.token_digest else None,
                "token_routing_tag": entry.token_digest.routing_tag.value if entry.token_digest else None,
                "absolute_expires_at": entry.absolute_expires_at,
                "created_at": now,
            }
            for entry in entries
        ]
        # One multi-row INSERT ... RETURNING (SQLAlchemy's "insertmanyvalues"), not one statement
        # per entry: an end-all of many sessions writes all its rows at once. render_nulls keeps
        # rows with and without a digest in the same statement (the ORM would split the batch
        # where the set of non-NULL columns changes).
        returned = self._session.execute(
            insert(rows).returning(
                rows.id, rows.kind, rows.user_id, rows.token_digest, rows.token_routing_tag
            ),
            values,
            execution_options={"render_nulls": True},
        ).all()
        # RETURNING's row order is not guaranteed, and sort_by_parameter_order would fall back
        # to one statement per row on SQLite (no sentinel there): ids are paired with entries by
        # the rows' contents instead. Rows with equal contents describe the same work and are
        # interchangeable (the ids only serve to clear the rows once Redis has it).
        ids: dict[tuple[object, ...], list[int]] = {}
        for row_id, *content in sorted(returned, key=lambda row: row[0]):
            ids.setdefault(tuple(content), []).append(row_id)
            self.added_ids.append(row_id)
        return [
            OutboxEntry(
                entry.kind,
                entry.user_id,
                entry.token_digest,
                entry.absolute_expires_at,
                ids[_content(value)].pop(0),
            )
            for entry, value in zip(entries, values, strict=True)
        ]

    def newest_id(self) -> int:
        """The highest row id now (0 when empty): a drain bounded by it covers every row
        committed before it was read."""
        return int(self._session.scalar(select(func.max(self._rows.id))) or 0)

    def claim(self, limit: int, *, up_to: int | None = None, wait: bool = False) -> list[OutboxEntry]:
        """The oldest ``limit`` rows (ids at most ``up_to``), locked for this transaction; rows
        another transaction holds are skipped (PostgreSQL's SKIP LOCKED), or with ``wait``
        waited for (a row its holder deleted meanwhile is then left out). SQLite has one
        writer anyway."""
        rows = self._rows
        bounded = select(
            rows.id,
            rows.kind,
            rows.user_id,
            rows.token_digest,
            rows.token_routing_tag,
            rows.absolute_expires_at,
        )
        if up_to is not None:
            bounded = bounded.where(rows.id <= up_to)
        found = self._session.execute(
            bounded.order_by(rows.id).limit(limit).with_for_update(skip_locked=not wait)
        ).all()
        entries: list[OutboxEntry] = []
        for row_id, kind, user_id, digest_hex, tag, absolute in found:
            digest = TokenDigest(digest_hex, RoutingTag(tag)) if digest_hex and tag else None
            owner = None if user_id is None else UserId(user_id)
            entries.append(OutboxEntry(OutboxKind(kind), owner, digest, absolute, row_id))
        return entries

    def clear(self, entry_ids: Sequence[int]) -> None:
        """Delete the rows whose Redis work is done."""
        if entry_ids:
            self._session.execute(
                delete(self._rows)
                .where(self._rows.id.in_(list(entry_ids)))
                .execution_options(synchronize_session=False)
            )

    def clear_unless_locked(self, entry_ids: Sequence[int]) -> None:
        """Delete the rows whose Redis work is done, in one statement, skipping rows another
        transaction holds locked (PostgreSQL's SKIP LOCKED): a relay that claimed them applies
        the database's current state again and deletes them itself, so a request that clears
        rows on the side never waits for another process's relay."""
        if not entry_ids:
            return
        rows = self._rows
        unlocked = select(rows.id).where(rows.id.in_(list(entry_ids))).with_for_update(skip_locked=True)
        self._session.execute(
            delete(rows).where(rows.id.in_(unlocked)).execution_options(synchronize_session=False)
        )

    def existing(self, entry_ids: Sequence[int]) -> set[int]:
        """Which of these rows exist (committed rows: those of an unfinished transaction are
        not visible)."""
        if not entry_ids:
            return set()
        return set(self._session.scalars(select(self._rows.id).where(self._rows.id.in_(list(entry_ids)))))

    def stats(self) -> OutboxStats:
        """Depth and the oldest row's time (two indexed queries)."""
        depth = self._session.scalar(select(func.count()).select_from(self._rows)) or 0
        # Selected as a column (not min()) so the column type turns it back into a datetime.
        oldest = self._session.scalar(select(self._rows.created_at).order_by(self._rows.created_at).limit(1))
        return OutboxStats(int(depth), oldest)


def _content(value: Mapping[str, object]) -> tuple[object, ...]:
    """The columns an added row is recognised by in RETURNING (see ``add``)."""
    return (value["kind"], value["user_id"], value["token_digest"], value["token_routing_tag"])
