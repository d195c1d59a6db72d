"""The outbox's statements: rows added in one statement, each entry paired with its own id."""

from __future__ import annotations

from sqlalchemy import select

from platform_sessions.adapters.sqlalchemy.outbox import OutboxEntry, OutboxInTransaction
from platform_sessions.domain.ids import UserId
from platform_sessions.domain.routing import issue_token
from tests.builders import ROUTING_KEY
from tests.sql.databases import SqlDatabase
from tests.sql.test_user_sessions_sql import statements_sent


def test_add_writes_every_entry_in_one_statement_and_returns_each_its_own_id(
    sql_database: SqlDatabase, clock
):
    now = clock.now()
    entries = [
        OutboxEntry.for_session(UserId("alice"), issue_token(ROUTING_KEY, "alice").digest, now)
        for _ in range(25)
    ]
    # Rows without a digest in the middle, and two alike: still one statement, one id each.
    entries[7:7] = [OutboxEntry.for_platforms(UserId("alice")), OutboxEntry.for_platforms(UserId("alice"))]
    rows = sql_database.tables.outbox
    with statements_sent(sql_database.engine) as sent, sql_database.sessions() as db, db.begin():
        added = OutboxInTransaction(db, sql_database.tables).add(entries, now)
    assert len([s for s in sent if s.upper().startswith("INSERT")]) == 1
    assert [(a.kind, a.token_digest) for a in added] == [(e.kind, e.token_digest) for e in entries]
    with sql_database.sessions() as db:
        stored = dict(db.execute(select(rows.id, rows.token_digest)).all())
    assert len({a.entry_id for a in added}) == len(entries)
    assert {a.entry_id: (a.token_digest.hex if a.token_digest else None) for a in added} == stored


def test_add_of_nothing_sends_nothing(sql_database: SqlDatabase, clock):
    with statements_sent(sql_database.engine) as sent, sql_database.sessions() as db, db.begin():
        assert OutboxInTransaction(db, sql_database.tables).add([], clock.now()) == []
    assert not [s for s in sent if s.upper().startswith("INSERT")]
