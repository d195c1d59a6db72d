"""The use cases, unchanged, on the SQL storage through bootstrap(database_url=...)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, event, inspect, update
from sqlalchemy.engine import Engine

from platform_sessions.adapters.memory import InMemoryEventPublisher, ManualClock
from platform_sessions.adapters.sqlalchemy import create_sql_engine, sql_tables
from platform_sessions.domain.context import SessionContext
from platform_sessions.domain.errors import InvalidInput, PlatformNotFound, SessionNotFound
from platform_sessions.entrypoints import PlatformSessions, bootstrap
from platform_sessions.entrypoints.demo_walkthrough import run_walkthrough
from tests.sql.databases import KINDS, database_url, drop_tables, unique_prefix

ROUTING_KEY = "routing-key-for-the-sql-tests-0123456789"


@pytest.fixture(params=KINDS)
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url(request, request.param, tmp_path)


@pytest.fixture
def prefix(sql_url: str) -> Iterator[str]:
    """A table prefix of the test's own, whose tables are dropped afterwards."""
    chosen = unique_prefix()
    yield chosen
    engine = create_sql_engine(sql_url)
    try:
        drop_tables(engine, sql_tables(chosen))
    finally:
        engine.dispose()


def boot(url: str, prefix: str, clock: ManualClock, **options: Any) -> PlatformSessions:
    return bootstrap(
        database_url=url, table_prefix=prefix, migrate=True, clock=clock, routing_key=ROUTING_KEY, **options
    )


def test_the_whole_lifecycle_on_sql(sql_url: str, prefix: str, clock: ManualClock):
    publisher = InMemoryEventPublisher()
    with boot(sql_url, prefix, clock, event_publisher=publisher) as sessions:
        mastodon = sessions.connect_platform(
            "alice", name="Mastodon", platform_type="mastodon", instance_url="https://m.example", username="a"
        )
        pixelfed = sessions.connect_platform(
            "alice", name="Pixelfed", platform_type="pixelfed", instance_url="https://p.example", username="a"
        )
        laptop = sessions.start_session("alice", user_agent="Firefox", ip_address="192.0.2.1")
        phone = sessions.start_session("alice", user_agent="Safari", ip_address="192.0.2.2")
        context = sessions.resolve(str(laptop.token))
        assert context.platform == mastodon

        assert sessions.switch_platform(context, pixelfed.id).changed
        assert not sessions.switch_platform(str(laptop.token), pixelfed.id).changed  # double click
        assert sessions.resolve(str(laptop.token)).platform_id == pixelfed.id
        assert sessions.resolve(str(phone.token)).platform_id == mastodon.id  # per device
        stamped = next(p for p in sessions.list_platforms("alice") if p.id == pixelfed.id)
        assert stamped.last_used_at == clock.now()

        sessions.deactivate_platform("alice", pixelfed.id)
        fallen_back = sessions.resolve(str(laptop.token))
        assert fallen_back.platform_id == mastodon.id
        sessions.activate_platform("alice", pixelfed.id)
        assert sessions.set_default_platform("alice", pixelfed.id).is_default
        renamed = sessions.update_platform("alice", mastodon.id, name="Toots")
        assert [p.name for p in sessions.list_platforms("alice")] == ["Pixelfed", "Toots"]
        sessions.remove_platform("alice", renamed.id)
        with pytest.raises(PlatformNotFound):
            sessions.switch_platform(str(phone.token), renamed.id)

        rotated = sessions.rotate(str(laptop.token))
        with pytest.raises(SessionNotFound):
            sessions.resolve(str(laptop.token))
        listed = sessions.list_sessions("alice", current=str(rotated.token))
        assert {s.client.user_agent for s in listed} == {"Firefox", "Safari"}
        assert [s.is_current for s in listed].count(True) == 1
        phone_handle = next(s.handle for s in listed if not s.is_current)
        sessions.revoke_session("alice", phone_handle)
        with pytest.raises(SessionNotFound):
            sessions.resolve(str(phone.token))

        again = sessions.start_session("alice")
        assert sessions.end_all_sessions("alice", keep=str(rotated.token)) == 1
        with pytest.raises(SessionNotFound):
            sessions.resolve(str(again.token))
        assert sessions.end_session(str(rotated.token)) is True
        assert sessions.end_session(str(rotated.token)) is False

        for user in ("bob", "carol"):
            sessions.start_session(user)
        clock.advance(sessions.policy.idle_timeout)
        assert sessions.purge_expired(batch_size=1) == 2
        assert [e.name for e in publisher.published][-4:] == [
            "UserSessionsEnded",
            "SessionEnded",
            "SessionStarted",
            "SessionStarted",
        ]


def test_a_switch_writes_the_session_and_the_stamp_in_one_transaction(
    sql_url: str, prefix: str, clock: ManualClock
):
    with boot(sql_url, prefix, clock) as sessions:
        for name in ("Mastodon", "Pixelfed"):
            sessions.connect_platform(
                "alice", name=name, platform_type=name.lower(), instance_url="https://x.example", username="a"
            )
        _, pixelfed = sessions.list_platforms("alice")
        started = sessions.start_session("alice")
        context = sessions.resolve(str(started.token))
        begun: list[object] = []

        def on_begin(connection: object) -> None:
            begun.append(connection)

        event.listen(Engine, "begin", on_begin)
        try:
            assert sessions.switch_platform(context, pixelfed.id).changed
        finally:
            event.remove(Engine, "begin", on_begin)
        # Validating the target, the session change and the stamp: all in the one commit.
        assert len(begun) == 1
        assert sessions.resolve(str(started.token)).platform_id == pixelfed.id
        stamped = next(p for p in sessions.list_platforms("alice") if p.id == pixelfed.id)
        assert stamped.last_used_at == clock.now()


def test_a_resolve_is_one_transaction_and_falls_back_from_a_platform_that_went(
    sql_url: str, prefix: str, clock: ManualClock
):
    with boot(sql_url, prefix, clock) as sessions:
        mastodon, pixelfed = (
            sessions.connect_platform(
                "alice", name=name, platform_type=name.lower(), instance_url="https://x.example", username="a"
            )
            for name in ("Mastodon", "Pixelfed")
        )
        bobs_platform = sessions.connect_platform(
            "bob", name="Bob's", platform_type="mastodon", instance_url="https://b.example", username="b"
        )
        started = sessions.start_session("alice")
        token = str(started.token)
        assert sessions.switch_platform(token, pixelfed.id).changed
        begun: list[object] = []

        def on_begin(connection: object) -> None:
            begun.append(connection)

        def resolve_counted(platform_override: str | None = None) -> SessionContext:
            begun.clear()
            event.listen(Engine, "begin", on_begin)
            try:
                return sessions.resolve(token, platform_override=platform_override)
            finally:
                event.remove(Engine, "begin", on_begin)
                assert len(begun) == 1  # one transaction per resolve, whatever it finds

        assert resolve_counted().platform_id == pixelfed.id
        clock.advance(sessions.policy.touch_interval)
        assert resolve_counted().session.last_seen_at == clock.now()  # touched in that transaction

        # The platform changes behind the session's back (before its use case moves sessions
        # off it, or by another writer): every resolve re-validates and falls back.
        rows = sql_tables(prefix).platform_connections
        engine = create_sql_engine(sql_url)
        try:
            with engine.begin() as connection:
                connection.execute(update(rows).where(rows.id == pixelfed.id).values(is_active=False))
            deactivated = resolve_counted()
            assert (deactivated.platform_id, deactivated.platform_fell_back) == (mastodon.id, True)
            with engine.begin() as connection:
                connection.execute(delete(rows).where(rows.id == pixelfed.id))
            removed = resolve_counted()
            assert (removed.platform_id, removed.platform_fell_back) == (mastodon.id, True)
        finally:
            engine.dispose()

        assert resolve_counted(platform_override=mastodon.id).is_override
        with pytest.raises(PlatformNotFound):
            resolve_counted(platform_override=bobs_platform.id)  # another user's is no platform


def test_the_demo_walkthrough_runs_on_sql(sql_url: str, prefix: str, clock: ManualClock):
    lines: list[str] = []
    with boot(sql_url, prefix, clock) as sessions:
        run_walkthrough(sessions, lines.append)
    text = "\n".join(lines)
    assert "old token refused: SessionNotFound" in text
    assert "the phone is logged out: True" in text


def test_sessions_outlive_the_process_that_started_them(sql_url: str, prefix: str, clock: ManualClock):
    with boot(sql_url, prefix, clock) as first:
        platform = first.connect_platform(
            "alice", name="Mastodon", platform_type="mastodon", instance_url="https://m.example", username="a"
        )
        started = first.start_session("alice")
    with boot(sql_url, prefix, clock) as second:
        assert second.resolve(str(started.token)).platform == platform


def test_the_login_limit_evicts_on_sql(sql_url: str, prefix: str, clock: ManualClock):
    from platform_sessions.domain.policy import SessionPolicy

    with boot(sql_url, prefix, clock, policy=SessionPolicy(max_sessions_per_user=1)) as sessions:
        first = sessions.start_session("alice")
        second = sessions.start_session("alice")
        assert second.evicted_count == 1
        with pytest.raises(SessionNotFound):
            sessions.resolve(str(first.token))


def test_a_sqlite_file_is_migrated_by_default(tmp_path: Path, clock: ManualClock):
    url = f"sqlite:///{tmp_path / 'embedded.db'}"
    with bootstrap(database_url=url, clock=clock) as sessions:
        started = sessions.start_session("alice")
        assert sessions.resolve(str(started.token)).user_id == "alice"
    engine = create_sql_engine(url)
    try:
        assert {"ps_user_sessions", "ps_platform_connections"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_a_server_database_is_not_migrated_unless_asked(postgres_url: str):
    prefix = unique_prefix()
    with bootstrap(database_url=postgres_url, table_prefix=prefix):
        pass
    engine = create_sql_engine(postgres_url)
    try:
        assert not [name for name in inspect(engine).get_table_names() if name.startswith(prefix)]
    finally:
        engine.dispose()


def test_closing_the_facade_disposes_the_engine(tmp_path: Path, clock: ManualClock):
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    closed: list[object] = []

    def on_close(*args: object) -> None:
        closed.append(args)

    event.listen(Pool, "close", on_close)
    try:
        sessions = bootstrap(database_url=f"sqlite:///{tmp_path / 'closing.db'}", clock=clock)
        sessions.start_session("alice")
        sessions.close()
    finally:
        event.remove(Pool, "close", on_close)
    assert closed  # the pooled connection was closed by engine.dispose()


def test_explicit_memory_bootstrap_touches_no_database():
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    connects: list[object] = []

    def on_connect(*args: object) -> None:
        connects.append(args)

    event.listen(Pool, "connect", on_connect)
    try:
        with bootstrap(storage="memory") as sessions:
            started = sessions.start_session("alice")
            assert sessions.resolve(str(started.token)).user_id == "alice"
    finally:
        event.remove(Pool, "connect", on_connect)
    assert connects == []  # no database was involved


@pytest.mark.parametrize(
    "options",
    [
        {"storage": "sql"},  # no database_url
        {"database_url": "sqlite://"},  # in-memory SQLite: each pooled connection its own database
        {"database_url": "sqlite:///x.db", "table_prefix": "Bad-Prefix"},
    ],
)
def test_bad_sql_configuration_is_a_clear_error(options: dict[str, object], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PLATFORM_SESSIONS_DATABASE_URL")  # bootstrap() reads it when no database is given
    with pytest.raises(InvalidInput):
        bootstrap(**options)  # type: ignore[arg-type]


def test_the_sql_storage_provides_what_every_storage_provides():
    from platform_sessions.entrypoints.memory_storage import MemoryStorage
    from platform_sessions.entrypoints.sql_storage import SqlStorage

    wanted = {"user_sessions", "session_contexts", "platform_directory", "uow_factory", "event_publisher"}
    assert wanted <= set(MemoryStorage.providers)
    assert wanted <= set(SqlStorage.providers)
