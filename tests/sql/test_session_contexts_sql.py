"""What the SQL resolve query does beyond the contract: one transaction, its statements, its races."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, event, text
from sqlalchemy.engine import Engine

from platform_sessions.adapters.memory import ManualClock
from platform_sessions.adapters.sqlalchemy import (
    SqlAlchemySessionContextQuery,
    SqlAlchemyUnitOfWork,
    SqlAlchemyUserSessionRepository,
    create_sql_engine,
    database_session_factory,
)
from platform_sessions.domain.platform import PlatformConnection
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.session import UserSession
from tests.builders import a_platform, a_session
from tests.sql.databases import SqlDatabase
from tests.sql.threads import run_at_once


@dataclass(frozen=True)
class Resolving:
    """The query under test, the repository beside it on the same tables, and the time."""

    database: SqlDatabase
    query: SqlAlchemySessionContextQuery
    repository: SqlAlchemyUserSessionRepository
    clock: ManualClock
    policy: SessionPolicy

    def stored_session(self, **fields: Any) -> UserSession:
        session = a_session(now=self.clock.now(), policy=self.policy, **fields)
        self.repository.create(session, max_sessions=5)
        return session

    def saved(self, *platforms: PlatformConnection) -> None:
        with SqlAlchemyUnitOfWork(self.database.sessions, self.database.tables) as uow:
            for platform in platforms:
                uow.platforms.add(platform)
            uow.commit()

    def touch_due(self) -> datetime:
        """Move the clock to when a session stored now is due for a touch."""
        return self.clock.advance(self.policy.touch_interval)

    def stored_last_seen_at(self, session: UserSession) -> datetime | None:
        stored = self.repository.get(session.token_digest)
        return stored.last_seen_at if stored is not None else None


def resolving_on(database: SqlDatabase, clock: ManualClock, policy: SessionPolicy) -> Resolving:
    return Resolving(
        database,
        SqlAlchemySessionContextQuery(database.sessions, database.tables, policy),
        SqlAlchemyUserSessionRepository(database.sessions, database.tables, policy),
        clock,
        policy,
    )


@pytest.fixture
def resolving(sql_database: SqlDatabase, clock: ManualClock, policy: SessionPolicy) -> Resolving:
    return resolving_on(sql_database, clock, policy)


@contextmanager
def another_engine(database: SqlDatabase) -> Iterator[Engine]:
    """A second engine on the same database: another process's writes, on its own connections."""
    engine = create_sql_engine(database.url)
    try:
        yield engine
    finally:
        engine.dispose()


@dataclass
class Traffic:
    """Transactions begun and statements sent (SQLite's own BEGIN left out: it is no query)."""

    transactions: int = 0
    statements: list[str] = field(default_factory=list)

    def kinds(self, tables_prefix: str) -> list[str]:
        """Each statement as "<verb> <table without prefix>", e.g. "SELECT user_sessions"."""
        return [_kind(statement, tables_prefix) for statement in self.statements]


def _kind(statement: str, prefix: str) -> str:
    verb = statement.split(maxsplit=1)[0]
    table = next(name for name in ("user_sessions", "platform_connections") if f"{prefix}{name}" in statement)
    return f"{verb} {table}"


@contextmanager
def traffic(engine: Engine) -> Iterator[Traffic]:
    seen = Traffic()

    def on_begin(_connection: object) -> None:
        seen.transactions += 1

    def on_statement(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if not statement.startswith("BEGIN"):
            seen.statements.append(" ".join(statement.split()))

    event.listen(engine, "begin", on_begin)
    event.listen(engine, "before_cursor_execute", on_statement)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "begin", on_begin)


@contextmanager
def before_the_touch(engine: Engine, interlude: Callable[[], object]) -> Iterator[None]:
    """Run ``interlude`` once, just before the first touch UPDATE is sent: another request's
    change landing between a resolve's read and its touch."""
    done = threading.Event()

    def on_statement(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("UPDATE") and not done.is_set():
            done.set()
            interlude()

    event.listen(engine, "before_cursor_execute", on_statement)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
    assert done.is_set(), "the resolve never reached its touch"


@pytest.mark.parametrize("requested", [None, "own", "foreign"])
def test_a_resolve_without_a_touch_is_one_transaction_of_two_statements(resolving, requested):
    default, other, foreign = a_platform(is_default=True), a_platform(), a_platform(user_id="bob")
    resolving.saved(default, other, foreign)
    session = resolving.stored_session(active_platform_id=default.id)
    requested_id = {None: None, "own": other.id, "foreign": foreign.id}[requested]
    with traffic(resolving.database.engine) as seen:
        snapshot = resolving.query.load(
            session.token_digest, now=resolving.clock.now(), requested_platform_id=requested_id
        )
    assert snapshot is not None
    assert seen.transactions == 1
    assert seen.kinds(resolving.database.prefix) == ["SELECT user_sessions", "SELECT platform_connections"]
    assert snapshot.active_platform == default
    assert snapshot.default_platform == default
    assert snapshot.requested_platform == (other if requested == "own" else None)


def test_a_due_touch_is_a_third_statement_in_the_same_transaction(resolving):
    platform = a_platform(is_default=True)
    resolving.saved(platform)
    session = resolving.stored_session(active_platform_id=platform.id)
    now = resolving.touch_due()
    with traffic(resolving.database.engine) as seen:
        snapshot = resolving.query.load(session.token_digest, now=now)
    assert snapshot is not None
    assert seen.transactions == 1
    assert seen.kinds(resolving.database.prefix) == [
        "SELECT user_sessions",
        "UPDATE user_sessions",
        "SELECT platform_connections",
    ]
    assert snapshot.session.last_seen_at == now
    assert snapshot.active_platform == platform
    assert resolving.stored_last_seen_at(session) == now


def test_another_users_platforms_are_never_loaded(resolving):
    theirs_default, theirs = a_platform(user_id="bob", is_default=True), a_platform(user_id="bob")
    resolving.saved(theirs_default, theirs)
    # A session pointing at bob's platform (edited, or a bug elsewhere) and asking for bob's default.
    session = resolving.stored_session(active_platform_id=theirs.id)
    snapshot = resolving.query.load(
        session.token_digest, now=resolving.clock.now(), requested_platform_id=theirs_default.id
    )
    assert snapshot is not None
    assert snapshot.active_platform is None
    assert snapshot.requested_platform is None
    assert snapshot.default_platform is None  # bob's default is not alice's


def test_a_session_deleted_between_the_read_and_the_touch_loads_as_nothing(resolving):
    session = resolving.stored_session()
    rows = resolving.database.tables.user_sessions

    def log_out_elsewhere(engine: Engine) -> None:
        with engine.begin() as connection:
            connection.execute(delete(rows).where(rows.session_id == session.session_id))

    with (
        another_engine(resolving.database) as other,
        before_the_touch(resolving.database.engine, lambda: log_out_elsewhere(other)),
    ):
        assert resolving.query.load(session.token_digest, now=resolving.touch_due()) is None
    assert resolving.repository.get(session.token_digest) is None  # the touch did not bring it back


def test_a_write_between_the_read_and_the_touch_does_not_stop_the_touch(resolving):
    session = resolving.stored_session()

    def another_request_writes(engine: Engine) -> None:
        with SqlAlchemyUnitOfWork(database_session_factory(engine), resolving.database.tables) as uow:
            uow.platforms.add(a_platform(user_id="carol"))
            uow.commit()

    now = resolving.touch_due()
    with (
        another_engine(resolving.database) as other,
        traffic(resolving.database.engine) as seen,
        before_the_touch(resolving.database.engine, lambda: another_request_writes(other)),
    ):
        snapshot = resolving.query.load(session.token_digest, now=now)
    assert snapshot is not None
    assert snapshot.session.last_seen_at == now
    # PostgreSQL writes in the transaction that read. SQLite refuses a reader that write once
    # another writer committed since its read: the resolve starts over as a writer.
    assert seen.transactions == (2 if resolving.database.kind == "sqlite" else 1)
    assert resolving.stored_last_seen_at(session) == now


def test_on_sqlite_a_touch_waits_for_a_writer_that_holds_the_lock(sqlite_database, clock, policy):
    resolving = resolving_on(sqlite_database, clock, policy)
    session = resolving.stored_session()
    locked, released = threading.Event(), threading.Event()

    def hold_the_write_lock_a_moment(engine: Engine) -> None:
        with engine.begin():  # BEGIN IMMEDIATE: the write lock
            locked.set()
            released.wait(0.3)

    now = resolving.touch_due()
    with another_engine(sqlite_database) as other:
        writer = threading.Thread(target=hold_the_write_lock_a_moment, args=(other,), daemon=True)
        with before_the_touch(sqlite_database.engine, lambda: (writer.start(), locked.wait(5))):
            snapshot = resolving.query.load(session.token_digest, now=now)
        writer.join(5)
    assert snapshot is not None
    assert snapshot.session.last_seen_at == now


def test_a_burst_of_requests_due_for_a_touch_all_resolve(resolving):
    session = resolving.stored_session()
    now = resolving.clock.advance(resolving.policy.touch_interval + timedelta(seconds=1))
    outcomes = run_at_once(8, lambda _: resolving.query.load(session.token_digest, now=now))
    assert [type(outcome).__name__ for outcome in outcomes] == ["SessionSnapshot"] * 8
    assert {outcome.session.last_seen_at for outcome in outcomes} == {now}


def test_a_row_that_does_not_decode_is_no_session_and_is_logged(resolving, caplog):
    broken = resolving.stored_session()
    table = resolving.database.tables.user_sessions.__tablename__
    with resolving.database.engine.begin() as connection:  # JSON, but not a map of attributes
        connection.execute(
            text(f"UPDATE {table} SET attributes = '[1, 2]' WHERE session_id = :id"),
            {"id": broken.session_id},
        )
    with caplog.at_level(logging.WARNING):
        assert resolving.query.load(broken.token_digest, now=resolving.touch_due()) is None
    assert any(broken.session_id in record.getMessage() for record in caplog.records)
