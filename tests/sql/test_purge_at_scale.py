"""Purging 200 000 expired sessions on PostgreSQL: bounded batches, live sessions untouched."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from platform_sessions.adapters.sqlalchemy import SqlAlchemyUserSessionRepository
from platform_sessions.adapters.sqlalchemy.postgres_connections import unbounded
from tests.builders import a_session
from tests.sql.databases import SqlDatabase

EXPIRED = 200_000
BATCH = 1000
REPOSITORY_LOGGER = "platform_sessions.adapters.sqlalchemy.user_session_repository"


def insert_expired_sessions(database: SqlDatabase, count: int, now: datetime, idle: timedelta) -> None:
    """``count`` sessions last seen between 2 and 3 idle timeouts ago, in one statement (bulk
    setup, longer than a request's statement bound: lifted for it, as for a migration)."""
    table = database.tables.user_sessions.__tablename__  # type: ignore[attr-defined]
    with database.engine.begin() as connection, unbounded(connection.connection.dbapi_connection):
        connection.execute(text("SET LOCAL statement_timeout = 0"))
        connection.execute(
            text(
                f"""
                INSERT INTO {table} (session_id, token_digest, token_routing_tag, user_id,
                    active_platform_id, created_at, last_seen_at, absolute_expires_at, expires_at,
                    version, csrf_token, user_agent, ip_address, attributes)
                SELECT md5('session' || i), encode(sha256(('token' || i)::bytea), 'hex'), 'aaaaaaaa',
                    'user' || (i % 5000), NULL, seen, seen, seen + interval '7 days', seen + :idle,
                    1, md5('csrf' || i), 'bulk', '127.0.0.1', '{{}}'::json
                FROM generate_series(1, :count) AS i,
                    LATERAL (SELECT :now - 2 * :idle - (i % 3600) * interval '1 second') AS t(seen)
                """
            ),
            {"count": count, "now": now, "idle": idle},
        )
        connection.execute(text(f"ANALYZE {table}"))


def test_purging_two_hundred_thousand_expired_sessions_in_batches(
    postgres_database: SqlDatabase, policy, caplog, record_property
):
    database = postgres_database
    repository = SqlAlchemyUserSessionRepository(database.sessions, database.tables, policy)
    now = datetime.now(UTC).replace(microsecond=0)
    started = time.perf_counter()
    insert_expired_sessions(database, EXPIRED, now, policy.idle_timeout)
    build_seconds = time.perf_counter() - started
    live = [a_session(user_id=f"live{i}", now=now - timedelta(minutes=i), policy=policy) for i in range(10)]
    # One more on the edge: it expires one second after the purge's "now".
    edge = a_session(user_id="edge", now=now - policy.idle_timeout + timedelta(seconds=1), policy=policy)
    for session in [*live, edge]:  # their users have no expired sessions for create to prune
        repository.create(session, max_sessions=20)

    started = time.perf_counter()
    with caplog.at_level(logging.DEBUG, logger=REPOSITORY_LOGGER):
        purged = repository.purge_expired(now, batch_size=BATCH)
    purge_seconds = time.perf_counter() - started

    batches = [record for record in caplog.records if record.name == REPOSITORY_LOGGER]
    sizes = [record.purged for record in batches]  # type: ignore[attr-defined]
    longest_ms = max(record.batch_seconds for record in batches) * 1000  # type: ignore[attr-defined]
    assert purged == EXPIRED
    assert sizes == [BATCH] * (EXPIRED // BATCH) + [0]  # bounded batches, then one that found none
    for session in [*live, edge]:
        assert repository.get(session.token_digest) == session
    rows = database.tables.user_sessions
    with database.sessions() as db:
        assert db.scalar(select(func.count()).select_from(rows)) == len(live) + 1

    # Timings vary with the machine: recorded for the report, never asserted.
    record_property("purge_batches", len(batches))
    record_property("purge_longest_batch_ms", round(longest_ms, 1))
    record_property("purge_total_s", round(purge_seconds, 2))
    print(
        f"\nbuilt {EXPIRED} expired rows in {build_seconds:.2f}s; purged them in {len(batches)} batches "
        f"of at most {BATCH} in {purge_seconds:.2f}s; longest batch {longest_ms:.1f} ms"
    )


@pytest.mark.parametrize("batch_size", [0, -1])
def test_a_batch_size_below_one_is_refused(postgres_database: SqlDatabase, policy, batch_size: int):
    from platform_sessions.domain.errors import InvalidInput

    repository = SqlAlchemyUserSessionRepository(postgres_database.sessions, postgres_database.tables, policy)
    with pytest.raises(InvalidInput):
        repository.purge_expired(datetime.now(UTC), batch_size=batch_size)
