"""What the SQL session store does beyond the contract: its columns, its statements, its edges."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event, select, text, update
from sqlalchemy.engine import Engine

from platform_sessions.adapters.sqlalchemy import (
    SqlAlchemyUnitOfWork,
    SqlAlchemyUserSessionRepository,
    UserSessionsInTransaction,
    database_session_factory,
)
from platform_sessions.domain.routing import issue_token
from platform_sessions.domain.session import SessionChanges, new_csrf_token
from tests.builders import ROUTING_KEY, a_session
from tests.sql.databases import SqlDatabase


@contextmanager
def statements_sent(engine: Engine) -> Iterator[list[str]]:
    sent: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def stored_expires_at(database: SqlDatabase, session_id: str):  # type: ignore[no-untyped-def]
    rows = database.tables.user_sessions
    with database.sessions() as db:
        return db.scalars(select(rows.expires_at).where(rows.session_id == session_id)).one()


def test_expires_at_is_the_earlier_deadline_and_follows_touches(sql_database, repository, clock, policy):
    session = a_session(now=clock.now(), policy=policy)
    repository.create(session, max_sessions=5)
    assert stored_expires_at(sql_database, session.session_id) == session.last_seen_at + policy.idle_timeout
    later = clock.advance(timedelta(hours=1))
    repository.touch(session, later)
    assert stored_expires_at(sql_database, session.session_id) == later + policy.idle_timeout
    repository.update(session, SessionChanges(active_platform_id="p1"))
    assert stored_expires_at(sql_database, session.session_id) == later + policy.idle_timeout
    near_the_end = clock.advance(policy.absolute_lifetime - timedelta(minutes=70))
    repository.touch(session, near_the_end)
    assert stored_expires_at(sql_database, session.session_id) == session.absolute_expires_at


def test_an_update_sets_only_the_changed_columns_under_a_version_check(
    sql_database, repository, clock, policy
):
    session = a_session(now=clock.now(), policy=policy, attributes={"k": "v"})
    repository.create(session, max_sessions=5)
    seen = clock.advance(timedelta(minutes=5))
    repository.touch(session, seen)  # a concurrent request's touch, after ours read the session
    with statements_sent(sql_database.engine) as sent:
        updated = repository.update(session, SessionChanges(active_platform_id="p2"))
    writes = [s for s in sent if s.startswith("UPDATE")]
    assert len(writes) == 1
    set_clause, where_clause = writes[0].split(" SET ", 1)[1].split(" WHERE ", 1)
    assert "active_platform_id" in set_clause
    assert "version" in set_clause
    assert not any(column in set_clause for column in ("attributes", "csrf_token", "last_seen_at"))
    assert "session_id" in where_clause
    assert "version" in where_clause
    assert not any(s.startswith("INSERT") for s in sent)  # never an upsert
    assert updated.last_seen_at == seen  # the touch survived
    assert updated.attributes == {"k": "v"}


def test_a_touch_keeps_the_version_and_never_goes_back(repository, clock, policy):
    session = a_session(now=clock.now(), policy=policy)
    repository.create(session, max_sessions=5)
    later = clock.advance(timedelta(minutes=2))
    touched = repository.touch(session, later)
    stale = repository.touch(session, later - timedelta(minutes=1))
    assert touched is not None
    assert touched == stale
    assert touched.version == session.version


def test_the_old_token_of_a_rotated_session_cannot_touch_it_but_ending_it_ends_the_session(
    repository, clock, policy
):
    session = a_session(now=clock.now(), policy=policy)
    repository.create(session, max_sessions=5)
    rotated = repository.rotate(session, issue_token(ROUTING_KEY, session.user_id).digest, new_csrf_token())
    assert repository.touch(session, clock.advance(timedelta(minutes=5))) is None
    assert repository.get(rotated.token_digest) == rotated
    assert repository.delete(session) is True  # by the session's id: the rotation does not save it
    assert repository.get(rotated.token_digest) is None


def test_a_row_that_does_not_decode_is_no_session_and_is_logged(
    sql_database, repository, clock, policy, caplog
):
    broken, fine = (a_session(now=clock.now(), policy=policy) for _ in range(2))
    repository.create(broken, max_sessions=5)
    repository.create(fine, max_sessions=5)
    table = sql_database.tables.user_sessions.__tablename__  # type: ignore[attr-defined]
    with sql_database.engine.begin() as connection:
        if sql_database.kind == "sqlite":  # text that is not JSON at all
            connection.execute(
                text(f"UPDATE {table} SET attributes = '{{not json' WHERE session_id = :id"),
                {"id": broken.session_id},
            )
        else:  # JSON, but not a map of attributes
            connection.execute(
                text(f"UPDATE {table} SET attributes = '[1, 2]' WHERE session_id = :id"),
                {"id": broken.session_id},
            )
    with caplog.at_level(logging.WARNING):
        assert repository.get(broken.token_digest) is None
        assert [s.session_id for s in repository.list_for_user("alice", clock.now())] == [fine.session_id]
    assert any(broken.session_id in record.getMessage() for record in caplog.records)


def test_purge_works_in_batches_each_logged(repository, clock, policy, caplog):
    for index in range(5):
        repository.create(a_session(user_id=f"user{index}", now=clock.now(), policy=policy), max_sessions=5)
    clock.advance(policy.idle_timeout)
    with caplog.at_level(
        logging.DEBUG, logger="platform_sessions.adapters.sqlalchemy.user_session_repository"
    ):
        assert repository.purge_expired(clock.now(), batch_size=2) == 5
    assert [record.purged for record in caplog.records] == [2, 2, 1]  # type: ignore[attr-defined]
    assert all(record.batch_seconds >= 0 for record in caplog.records)  # type: ignore[attr-defined]


def test_the_statements_run_inside_a_callers_transaction_and_roll_back_with_it(sql_database, clock, policy):
    """What a transactional outbox needs: session writes in the caller's own transaction."""
    session = a_session(now=clock.now(), policy=policy)
    with sql_database.sessions() as db, db.begin():
        statements = UserSessionsInTransaction(db, sql_database.tables, policy)
        statements.create(session, max_sessions=5)
        read = statements.get(session.token_digest)
        assert read == session
        updated = statements.update(session, SessionChanges(active_platform_id="p1"))
        assert statements.get(session.token_digest) == updated  # never the identity map's stale row
        db.rollback()
    repository = SqlAlchemyUserSessionRepository(sql_database.sessions, sql_database.tables, policy)
    assert repository.get(session.token_digest) is None


def test_a_callers_commit_keeps_the_session_and_its_other_writes_together(sql_database, clock, policy):
    session = a_session(now=clock.now(), policy=policy)
    rows = sql_database.tables.user_sessions
    with sql_database.sessions() as db, db.begin():
        statements = UserSessionsInTransaction(db, sql_database.tables, policy)
        statements.create(session, max_sessions=5)
        db.execute(update(rows).where(rows.session_id == session.session_id).values(user_agent="outbox"))
    repository = SqlAlchemyUserSessionRepository(sql_database.sessions, sql_database.tables, policy)
    stored = repository.get(session.token_digest)
    assert stored is not None
    assert stored.client.user_agent == "outbox"


# an update within a unit of work on the same database


def test_an_update_within_a_unit_of_work_is_invisible_until_it_commits(
    repository, sql_database, clock, policy
):
    session = a_session(now=clock.now(), policy=policy)
    repository.create(session, max_sessions=5)
    with SqlAlchemyUnitOfWork(sql_database.sessions, sql_database.tables) as uow:
        updated = repository.update(session, SessionChanges(active_platform_id="p2"), within=uow)
        assert repository.get(session.token_digest) == session  # others still read the old version
        uow.commit()
    assert repository.get(session.token_digest) == updated


def test_an_update_within_a_unit_of_work_that_rolls_back_leaves_the_session_unchanged(
    repository, sql_database, clock, policy
):
    session = a_session(now=clock.now(), policy=policy)
    repository.create(session, max_sessions=5)
    with SqlAlchemyUnitOfWork(sql_database.sessions, sql_database.tables) as uow:
        repository.update(session, SessionChanges(active_platform_id="p2"), within=uow)
    assert repository.get(session.token_digest) == session
    assert repository.update(session, SessionChanges(active_platform_id="p3")).version == session.version + 1


def test_a_unit_of_work_on_another_sessionmaker_is_not_joined(repository, sql_database, clock, policy):
    session = a_session(now=clock.now(), policy=policy)
    repository.create(session, max_sessions=5)
    elsewhere = SqlAlchemyUnitOfWork(database_session_factory(sql_database.engine), sql_database.tables)
    with elsewhere as uow:
        updated = repository.update(session, SessionChanges(active_platform_id="p2"), within=uow)
        # not uow.commit(): the change was made at once, in a transaction of its own
    assert repository.get(session.token_digest) == updated
