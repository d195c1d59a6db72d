"""The SQL session data rows beyond the contract: which statements a write sends, which rows
it touches, what reads cost, that data goes with its session, and the upgrade to revision 0004
keeping every stored session."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from platform_sessions.adapters.sqlalchemy import (
    SqlAlchemyUserSessionRepository,
    downgrade_schema,
    upgrade_schema,
)
from platform_sessions.domain.routing import issue_token
from platform_sessions.domain.session import SessionChanges, new_csrf_token
from platform_sessions.domain.session_data import SessionDataChanges
from tests.builders import ROUTING_KEY, a_session, an_anonymous_session
from tests.sql.databases import KINDS, SqlDatabase, database_url, migrated_database
from tests.sql.test_user_sessions_sql import statements_sent


def data_rows(database: SqlDatabase) -> list[tuple[str, str, str, int]]:
    data = database.tables.session_data
    with database.sessions() as db:
        found = db.execute(select(data.session_id, data.key, data.value, data.size))
        return [(row.session_id, row.key, row.value, row.size) for row in found]


def test_a_write_sends_one_versioned_update_and_writes_only_the_changed_keys(
    sql_database, repository, clock, policy
):
    session = a_session(now=clock.now(), policy=policy, data={"keep": [1, 2], "old": 1, "theme": "dark"})
    repository.create(session, max_sessions=5)
    with statements_sent(sql_database.engine) as sent:
        written = repository.write_data(
            session, SessionDataChanges({"theme": "light", "new": {"b": 1, "a": 2}}, {"old"}), max_bytes=1000
        )
    updates = [s for s in sent if s.startswith("UPDATE")]
    assert len(updates) == 1
    assert "version" in updates[0].split(" SET ", 1)[1]
    deletes = [s for s in sent if s.startswith("DELETE")]
    inserts = [s for s in sent if s.startswith("INSERT")]
    assert len(deletes) == 1
    assert len(inserts) == 1
    assert written.data == {"keep": [1, 2], "theme": "light", "new": {"a": 2, "b": 1}}
    rows = {key: (value, size) for _, key, value, size in data_rows(sql_database)}
    assert rows == {
        "keep": ("[1,2]", 4 + 5),
        "theme": ('"light"', 5 + 7),
        "new": ('{"a":2,"b":1}', 3 + 13),  # canonical JSON: sorted keys, no spaces
    }


def test_a_read_of_a_session_is_one_query_with_or_without_data(sql_database, repository, clock, policy):
    plain = a_session(now=clock.now(), policy=policy)
    rich = a_session(now=clock.now(), policy=policy, data={"a": 1, "b": 2})
    for session in (plain, rich):
        repository.create(session, max_sessions=5)
    for session in (plain, rich):
        with statements_sent(sql_database.engine) as sent:
            assert repository.get(session.token_digest) == session
        assert len([s for s in sent if s.startswith("SELECT")]) == 1


def test_a_list_reads_the_data_of_all_its_sessions_in_one_more_query(sql_database, repository, clock, policy):
    sessions = [a_session(now=clock.now(), policy=policy, data={"n": n}) for n in range(3)]
    for session in sessions:
        repository.create(session, max_sessions=5)
    with statements_sent(sql_database.engine) as sent:
        listed = repository.list_for_user("alice", clock.now())
    assert {s.session_id: s.data for s in listed} == {s.session_id: s.data for s in sessions}
    assert len([s for s in sent if s.startswith("SELECT")]) == 2


def test_an_update_rotation_or_touch_of_a_session_with_data_reads_no_data(
    sql_database, repository, clock, policy
):
    session = a_session(now=clock.now(), policy=policy, data={"a": 1})
    repository.create(session, max_sessions=5)
    with statements_sent(sql_database.engine) as sent:
        touched = repository.touch(session, clock.advance(timedelta(minutes=2)))
        assert touched is not None
        updated = repository.update(touched, SessionChanges(active_platform_id="p1"))
        rotated = repository.rotate(updated, issue_token(ROUTING_KEY, "alice").digest, new_csrf_token())
    assert touched.data == updated.data == rotated.data == {"a": 1}
    assert not any("session_data" in s for s in sent)  # versions say the data is as read


def test_ending_evicting_and_purging_sessions_removes_their_data(sql_database, repository, clock, policy):
    ended = a_session(now=clock.now(), policy=policy, data={"a": 1})
    repository.create(ended, max_sessions=5)
    repository.delete(ended)
    evicted = a_session(now=clock.now(), policy=policy, data={"b": 1})
    repository.create(evicted, max_sessions=1)
    clock.advance(timedelta(minutes=1))
    keeper = a_session(now=clock.now(), policy=policy, data={"c": 1})
    assert [s.data for s in repository.create(keeper, max_sessions=1)] == [{"b": 1}]
    visitor = an_anonymous_session(now=clock.now(), policy=policy, data={"d": 1})
    repository.create(visitor, max_sessions=1)
    assert sorted(key for _, key, _, _ in data_rows(sql_database)) == ["c", "d"]
    clock.advance(policy.anonymous_idle_timeout + timedelta(minutes=1))
    assert repository.purge_expired(clock.now()) == 1  # the visitor's, by the anonymous timeout
    assert [s.data for s in repository.delete_all_for_user("alice")] == [{"c": 1}]
    assert data_rows(sql_database) == []


def test_a_data_row_that_does_not_decode_makes_no_session_and_is_logged(
    sql_database, repository, clock, policy, caplog
):
    session = a_session(now=clock.now(), policy=policy, data={"a": 1})
    repository.create(session, max_sessions=5)
    table = sql_database.tables.session_data.__tablename__  # type: ignore[attr-defined]
    with sql_database.engine.begin() as connection:
        connection.execute(text(f"UPDATE {table} SET value = '{{not json'"))
    with caplog.at_level(logging.WARNING):
        assert repository.get(session.token_digest) is None
    assert any(session.session_id in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("kind", KINDS)
def test_upgrading_to_0004_keeps_every_stored_session(request, tmp_path, kind, clock, policy):
    url = database_url(request, kind, tmp_path)
    with migrated_database(kind, url) as database:
        # Back to the schema before this revision, with a session stored the way 0003 stored it.
        downgrade_schema(database.engine, table_prefix=database.prefix, revision="0003")
        session = a_session(now=clock.now(), policy=policy, attributes={"role": "editor"})
        table = f"{database.prefix}user_sessions"
        with database.engine.begin() as connection:
            connection.execute(
                text(
                    f"INSERT INTO {table} (session_id, token_digest, token_routing_tag, user_id,"
                    " active_platform_id, created_at, last_seen_at, absolute_expires_at, expires_at,"
                    " version, csrf_token, user_agent, ip_address, attributes) VALUES (:id, :digest,"
                    " :tag, :user, NULL, :now, :now, :absolute, :expires, 1, :csrf, :agent, :ip, :attributes)"
                ),
                {
                    "id": session.session_id,
                    "digest": session.token_digest.hex,
                    "tag": session.token_digest.routing_tag.value,
                    "user": session.user_id,
                    "now": session.created_at,
                    "absolute": session.absolute_expires_at,
                    "expires": session.created_at + policy.idle_timeout,
                    "csrf": session.csrf_token,
                    "agent": session.client.user_agent,
                    "ip": session.client.ip_address,
                    "attributes": '{"role":"editor"}',
                },
            )
        upgrade_schema(database.engine, table_prefix=database.prefix)
        repository = SqlAlchemyUserSessionRepository(database.sessions, database.tables, policy)
        stored = repository.get(session.token_digest)
        assert stored == session
        assert stored is not None
        assert (stored.data, stored.persistent_cookie) == ({}, True)
        written = repository.write_data(stored, SessionDataChanges({"cart": [1]}), max_bytes=1000)
        assert written.data == {"cart": [1]}
        with database.engine.connect() as connection:
            count = connection.execute(select(func.count()).select_from(database.tables.user_sessions))
            assert count.scalar() == 1
