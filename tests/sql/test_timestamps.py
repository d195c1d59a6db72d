"""Times go in as any aware datetime and come out as the same instant in UTC, microseconds kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from platform_sessions.adapters.sqlalchemy import SqlAlchemyUnitOfWork, SqlAlchemyUserSessionRepository
from tests.builders import a_platform, a_session
from tests.sql.databases import SqlDatabase

PARIS_SUMMER = timezone(timedelta(hours=2))
MOMENT = datetime(2026, 7, 14, 23, 59, 58, 999_999, tzinfo=PARIS_SUMMER)


def test_a_platforms_last_use_reads_back_as_the_same_instant_in_utc(sql_database: SqlDatabase):
    platform = a_platform(last_used_at=MOMENT)
    with SqlAlchemyUnitOfWork(sql_database.sessions, sql_database.tables) as uow:
        uow.platforms.add(platform)
        uow.commit()
    with SqlAlchemyUnitOfWork(sql_database.sessions, sql_database.tables) as uow:
        stored = uow.platforms.get(platform.id)
    assert stored is not None
    assert stored.last_used_at == MOMENT
    assert stored.last_used_at.tzinfo is UTC
    assert stored.last_used_at.microsecond == 999_999


def test_session_times_keep_their_microseconds(sql_database: SqlDatabase, policy):
    repository = SqlAlchemyUserSessionRepository(sql_database.sessions, sql_database.tables, policy)
    session = a_session(now=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), policy=policy)
    repository.create(session, max_sessions=5)
    stored = repository.get(session.token_digest)
    assert stored == session
    assert stored is not None
    assert {stored.created_at.tzinfo, stored.last_seen_at.tzinfo, stored.absolute_expires_at.tzinfo} == {UTC}


def test_sqlite_stores_utc_text_that_sorts_like_time(sqlite_database: SqlDatabase, policy):
    repository = SqlAlchemyUserSessionRepository(sqlite_database.sessions, sqlite_database.tables, policy)
    session = a_session(now=MOMENT, policy=policy)
    repository.create(session, max_sessions=5)
    table = sqlite_database.tables.user_sessions.__tablename__  # type: ignore[attr-defined]
    with sqlite_database.engine.connect() as connection:
        raw = connection.execute(text(f"SELECT created_at FROM {table}")).scalar_one()
    assert raw == "2026-07-14 21:59:58.999999"


def test_a_naive_datetime_is_refused_rather_than_guessed(sql_database: SqlDatabase):
    rows = sql_database.tables.user_sessions
    with sql_database.sessions() as session, pytest.raises(StatementError, match="timezone-aware"):
        session.execute(select(rows).where(rows.expires_at < datetime(2026, 1, 1)))


def test_expiry_comparisons_use_instants_not_wall_clocks(sql_database: SqlDatabase, policy):
    repository = SqlAlchemyUserSessionRepository(sql_database.sessions, sql_database.tables, policy)
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    session = a_session(now=start, policy=policy)
    repository.create(session, max_sessions=5)
    # One minute before the idle deadline, expressed in a zone two hours ahead.
    just_before = (start + policy.idle_timeout - timedelta(minutes=1)).astimezone(PARIS_SUMMER)
    assert [s.session_id for s in repository.list_for_user("alice", just_before)] == [session.session_id]
    assert repository.list_for_user("alice", just_before + timedelta(minutes=2)) == []
