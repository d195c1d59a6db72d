"""A commit whose acknowledgement is lost: the change is found, or made, exactly once.

The connection to PostgreSQL (through a TCP proxy the test owns) is reset right after a
change's COMMIT reached the server and before its reply reaches the client
(``drop_reply_after(b"COMMIT")``, armed by the change's own statement, so the COMMIT cut is that
transaction's). Without an answer, the adapters raise ``CommitOutcomeUnknown``; the use cases
then re-read and finish the change. Asserted for the SQL storage and the two-tier storage (a
private Redis in front): the user stays logged in after a rotation, every change is stored
once (versions move by exactly one), and Redis ends equal to the database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from platform_sessions.adapters.redis import RedisEndpoint
from platform_sessions.adapters.sqlalchemy import (
    SqlAlchemySessionContextQuery,
    SqlAlchemyUnitOfWork,
    SqlAlchemyUserSessionRepository,
    create_sql_engine,
    database_session_factory,
    sql_tables,
    upgrade_schema,
)
from platform_sessions.domain.errors import CommitOutcomeUnknown, SessionNotFound
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.token import SessionToken
from platform_sessions.entrypoints import PlatformSessions
from platform_sessions.entrypoints.sql_storage import SqlStorageBuilder
from platform_sessions.entrypoints.two_tier_storage import TwoTierStorage
from tests.builders import a_session, a_wiring, sessions_on
from tests.sql.databases import drop_tables, unique_prefix
from tests.support import settings
from tests.support.postgres import PostgresServer
from tests.support.tcp_proxy import TcpProxy
from tests.two_tier.faults import owed_outbox_depth
from tests.two_tier.load import wait_until
from tests.two_tier.wiring import two_tier_sessions

pytestmark = pytest.mark.services

STORAGES = ("sql", "two-tier")
ROTATE = r"^UPDATE \S+user_sessions SET token_digest"
START = r"^INSERT INTO \S+user_sessions"
END = r"^DELETE FROM \S+user_sessions"
SWITCH = r"^UPDATE \S+platform_connections SET last_used_at"
OUTBOX_INSERT = r"^INSERT INTO \S+outbox"


@dataclass
class Rig:
    facade: PlatformSessions
    proxy: TcpProxy
    two_tier: TwoTierStorage | None

    def lose_the_commit_reply_of(self, statement: str) -> Callable[[], None]:
        """Arm the proxy when ``statement`` runs: the next COMMIT on the wire is its
        transaction's. Returns what disarms the listener."""
        pattern = re.compile(statement)
        armed: list[str] = []

        def arm(_conn: object, _cursor: object, sql: str, *_: object) -> None:
            if not armed and pattern.search(sql):
                armed.append(sql)
                self.proxy.drop_reply_after(b"COMMIT")

        event.listen(Engine, "before_cursor_execute", arm)
        return lambda: event.remove(Engine, "before_cursor_execute", arm)

    def cut_before_the_commit_of(self, statement: str) -> Callable[[], None]:
        """Reset the connection once ``statement`` has been answered: its transaction's COMMIT
        never reaches the server, which rolls the transaction back. Returns the disarm."""
        pattern = re.compile(statement)
        cut: list[str] = []

        def reset(_conn: object, _cursor: object, sql: str, *_: object) -> None:
            if not cut and pattern.search(sql):
                cut.append(sql)
                self.proxy.cut()
                # The proxy resets connections from its own threads: wait until it has.
                assert wait_until(lambda: self.proxy.open_connections == 0, 2.0) is not None

        event.listen(Engine, "after_cursor_execute", reset)
        return lambda: event.remove(Engine, "after_cursor_execute", reset)

    @property
    def last_statement_of_a_rotation(self) -> str:
        # The two-tier storage writes the outbox row after the session's UPDATE.
        return OUTBOX_INSERT if self.two_tier is not None else ROTATE

    def mirror_agrees(self, token: str) -> None:
        """Redis ends equal to the database (after the relay has done what the outbox says)."""
        storage = self.two_tier
        if storage is None:
            return
        storage.relay().drain()
        assert owed_outbox_depth(storage) == 0
        digest = SessionToken.parse(token).digest
        with storage.database().transaction("compare", read_only=True) as tx:
            in_database = tx.user_sessions.get(digest)
        in_redis = storage.redis_sessions().get(digest)
        if in_database is None:
            assert in_redis is None
        else:
            assert in_redis is not None
            assert (in_redis.version, in_redis.active_platform_id) == (
                in_database.version,
                in_database.active_platform_id,
            )


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    with TcpProxy(settings.LOOPBACK, settings.postgres_port()) as owned:
        yield owned


@pytest.fixture(params=STORAGES)
def rig(
    request: pytest.FixtureRequest, proxy: TcpProxy, postgres_schema: str, postgres_url: str
) -> Iterator[Rig]:
    url = PostgresServer(port=proxy.port).sqlalchemy_url(search_path=postgres_schema)
    policy = SessionPolicy()
    if request.param == "sql":
        prefix = unique_prefix()
        builder = SqlStorageBuilder(database_url=url, table_prefix=prefix, migrate=True)
        opened = builder.open(a_wiring(policy=policy))
        try:
            yield Rig(sessions_on(opened, policy=policy), proxy, None)
        finally:
            opened.close()
            direct = create_sql_engine(postgres_url)
            try:
                drop_tables(direct, sql_tables(prefix))
            finally:
                direct.dispose()
        return
    endpoint = RedisEndpoint.server(request.getfixturevalue("clean_redis_url"))
    with two_tier_sessions(endpoint, url, policy=policy) as (facade, storage):
        storage.rewarmer().rewarm()  # completeness markers: a Redis miss is authoritative now
        yield Rig(facade, proxy, storage)


def two_platforms(facade: PlatformSessions) -> tuple[Any, Any]:
    first = facade.connect_platform(
        "alice", name="A", platform_type="mastodon", instance_url="https://a.example", username="a"
    )
    second = facade.connect_platform(
        "alice", name="B", platform_type="mastodon", instance_url="https://b.example", username="b"
    )
    return first, second


def test_a_rotation_whose_commit_reply_is_lost_keeps_the_user_logged_in(rig: Rig):
    facade = rig.facade
    started = facade.start_session("alice")
    before = facade.resolve(str(started.token))

    disarm = rig.lose_the_commit_reply_of(ROTATE)
    try:
        rotated = facade.rotate(before)
    finally:
        disarm()

    assert rig.proxy.replies_dropped == 1
    assert facade.resolve(str(rotated.token)).session.session_id == before.session.session_id
    with pytest.raises(SessionNotFound):
        facade.resolve(str(started.token))
    assert rotated.session.version == before.session.version + 1  # rotated once, not twice
    rig.mirror_agrees(str(rotated.token))
    rig.mirror_agrees(str(started.token))


def test_a_rotation_whose_commit_never_reached_the_server_is_made_again(rig: Rig):
    facade = rig.facade
    started = facade.start_session("alice")
    before = facade.resolve(str(started.token))

    disarm = rig.cut_before_the_commit_of(rig.last_statement_of_a_rotation)
    try:
        rotated = facade.rotate(before)
    finally:
        disarm()

    assert facade.resolve(str(rotated.token)).session.session_id == before.session.session_id
    with pytest.raises(SessionNotFound):
        facade.resolve(str(started.token))
    assert rotated.session.version == before.session.version + 1
    rig.mirror_agrees(str(rotated.token))
    rig.mirror_agrees(str(started.token))


def test_a_login_whose_commit_reply_is_lost_is_stored_once(rig: Rig):
    facade = rig.facade
    disarm = rig.lose_the_commit_reply_of(START)
    try:
        started = facade.start_session("alice")
    finally:
        disarm()

    assert rig.proxy.replies_dropped == 1
    assert facade.resolve(str(started.token)).session.user_id == "alice"
    assert len(facade.list_sessions("alice")) == 1
    rig.mirror_agrees(str(started.token))


def test_a_logout_whose_commit_reply_is_lost_ends_the_session(rig: Rig):
    facade = rig.facade
    started = facade.start_session("alice")
    disarm = rig.lose_the_commit_reply_of(END)
    try:
        assert facade.end_session(str(started.token)) is True
    finally:
        disarm()

    assert rig.proxy.replies_dropped == 1
    with pytest.raises(SessionNotFound):
        facade.resolve(str(started.token))
    assert facade.list_sessions("alice") == []
    rig.mirror_agrees(str(started.token))


def test_a_switch_whose_commit_reply_is_lost_is_made_once(rig: Rig):
    facade = rig.facade
    first, second = two_platforms(facade)
    started = facade.start_session("alice", platform_id=first.id)
    before = facade.resolve(str(started.token))

    disarm = rig.lose_the_commit_reply_of(SWITCH)
    try:
        outcome = facade.switch_platform(before, second.id)
    finally:
        disarm()

    assert rig.proxy.replies_dropped == 1
    assert outcome.changed
    assert outcome.session.active_platform_id == second.id
    after = facade.resolve(str(started.token))
    assert after.platform_id == second.id
    assert after.session.version == before.session.version + 1  # switched once
    rig.mirror_agrees(str(started.token))


def test_a_unit_of_work_whose_commit_reply_is_lost_says_the_outcome_is_unknown(
    proxy: TcpProxy, postgres_schema: str
):
    """The port's own answer, for use cases that cannot resolve it (platform changes): a
    ``StoreUnavailable`` that says the change may be stored, with no commit callback run."""
    engine = create_sql_engine(PostgresServer(port=proxy.port).sqlalchemy_url(search_path=postgres_schema))
    rig = Rig(None, proxy, None)  # type: ignore[arg-type]
    ran: list[str] = []
    disarm = rig.lose_the_commit_reply_of(r"^SELECT 'lost'")
    try:
        with (
            pytest.raises(CommitOutcomeUnknown) as raised,
            SqlAlchemyUnitOfWork(database_session_factory(engine), sql_tables(unique_prefix())) as uow,
        ):
            uow.on_commit(lambda: ran.append("committed"))
            uow.on_rollback(lambda: ran.append("rolled back"))
            uow.database_session.execute(text("SELECT 'lost'"))
            uow.commit()
    finally:
        disarm()
        engine.dispose()
    assert proxy.replies_dropped == 1
    assert raised.value.settled  # the server had finished the transaction: a re-read tells
    assert ran == ["rolled back"]  # no commit callback: the change is not known to be durable


def test_a_resolve_whose_commit_reply_is_lost_still_answers(
    proxy: TcpProxy, postgres_schema: str, policy, clock
):
    """A resolve's transaction only reads (and perhaps touches, unversioned): the reads stand."""
    engine = create_sql_engine(PostgresServer(port=proxy.port).sqlalchemy_url(search_path=postgres_schema))
    tables = sql_tables(unique_prefix())
    try:
        upgrade_schema(engine, table_prefix=tables.prefix)
        sessions = database_session_factory(engine)
        session = a_session(now=clock.now(), policy=policy)
        SqlAlchemyUserSessionRepository(sessions, tables, policy).create(session, max_sessions=5)
        clock.advance(policy.touch_interval * 2)  # a touch is due: the transaction writes
        rig = Rig(None, proxy, None)  # type: ignore[arg-type]
        disarm = rig.lose_the_commit_reply_of(r"FROM \S+platform_connections")
        try:
            snapshot = SqlAlchemySessionContextQuery(sessions, tables, policy).load(
                session.token_digest, now=clock.now()
            )
        finally:
            disarm()
        assert proxy.replies_dropped == 1
        assert snapshot is not None
        assert snapshot.session.session_id == session.session_id
    finally:
        drop_tables(engine, tables)
        engine.dispose()
