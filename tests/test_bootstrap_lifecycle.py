"""The whole lifecycle through bootstrap() and the facade, as an application uses it."""

from __future__ import annotations

import pytest

from platform_sessions.adapters.memory import InMemoryEventPublisher, ManualClock
from platform_sessions.domain.errors import InvalidInput, InvalidSetting, SessionNotFound
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.routing import RoutingKey
from platform_sessions.entrypoints import PlatformSessions, bootstrap
from platform_sessions.entrypoints.demo_walkthrough import run_walkthrough
from platform_sessions.entrypoints.settings import Settings


def test_the_in_memory_lifecycle_start_resolve_switch_rotate_list_end_others_end_purge(clock: ManualClock):
    publisher = InMemoryEventPublisher()
    with bootstrap(
        storage="memory", clock=clock, event_publisher=publisher, routing_key="k" * 32
    ) as sessions:
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
        assert sessions.resolve(str(laptop.token)).platform_id == pixelfed.id
        assert (
            next(p for p in sessions.list_platforms("alice") if p.id == pixelfed.id).last_used_at
            == clock.now()
        )

        rotated = sessions.rotate(str(laptop.token))
        with pytest.raises(SessionNotFound):
            sessions.resolve(str(laptop.token))

        listed = sessions.list_sessions("alice", current=str(rotated.token))
        assert {s.client.user_agent for s in listed} == {"Firefox", "Safari"}
        assert [s.is_current for s in listed].count(True) == 1

        assert sessions.end_all_sessions("alice", keep=str(rotated.token)) == 1
        with pytest.raises(SessionNotFound):
            sessions.resolve(str(phone.token))

        assert sessions.end_session(str(rotated.token)) is True
        assert sessions.end_session(str(rotated.token)) is False
        clock.advance(sessions.policy.absolute_lifetime)
        assert sessions.purge_expired() == 0
        assert [e.name for e in publisher.published][-3:] == [
            "SessionRotated",
            "UserSessionsEnded",
            "SessionEnded",
        ]


def test_each_memory_bootstrap_is_its_own_world():
    first, second = bootstrap(storage="memory"), bootstrap(storage="memory")
    started = first.start_session("alice")
    with pytest.raises(SessionNotFound):
        second.resolve(str(started.token))


def test_the_policy_is_configurable():
    sessions = bootstrap(policy=SessionPolicy(max_sessions_per_user=1))
    first = sessions.start_session("alice")
    sessions.start_session("alice")
    with pytest.raises(SessionNotFound):
        sessions.resolve(str(first.token))


def test_an_unknown_storage_is_a_clear_error():
    with pytest.raises(InvalidInput):
        bootstrap(storage="floppy")  # type: ignore[arg-type]


def test_the_walkthrough_runs_every_step():
    lines: list[str] = []
    sessions: PlatformSessions = bootstrap()
    run_walkthrough(sessions, lines.append)
    text = "\n".join(lines)
    assert "10. housekeeping" in text
    assert "old token refused: SessionNotFound" in text
    assert "the phone is logged out: True" in text


# --- settings from the environment -----------------------------------------------------------

ENV_KEY = "bootstrap-lifecycle-routing-key-0123"


def test_bootstrap_honours_the_redis_url_in_the_environment(monkeypatch, clean_redis_url):
    monkeypatch.delenv("PLATFORM_SESSIONS_DATABASE_URL")
    monkeypatch.setenv("PLATFORM_SESSIONS_REDIS_URL", clean_redis_url)
    monkeypatch.setenv("PLATFORM_SESSIONS_ROUTING_KEY", ENV_KEY)
    with bootstrap() as sessions:
        report = sessions.health()
    assert (report.storage, report.store, report.healthy) == ("redis", f"redis {clean_redis_url}", True)


def test_bootstrap_with_redis_and_a_database_in_the_environment_is_two_tier(
    monkeypatch, clean_redis_url, tmp_path
):
    database = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("PLATFORM_SESSIONS_DATABASE_URL", database)
    monkeypatch.setenv("PLATFORM_SESSIONS_REDIS_URL", clean_redis_url)
    monkeypatch.setenv("PLATFORM_SESSIONS_ROUTING_KEY", ENV_KEY)
    with bootstrap() as sessions:
        report = sessions.health()
    assert report.storage == "two-tier"
    assert report.store == f"two-tier {clean_redis_url} + sqlite:///{tmp_path / 'app.db'}"


def test_code_that_names_its_store_gets_exactly_that_store(monkeypatch, clean_redis_url, tmp_path):
    monkeypatch.setenv("PLATFORM_SESSIONS_REDIS_URL", clean_redis_url)
    database = f"sqlite:///{tmp_path / 'named.db'}"
    with bootstrap(database_url=database) as sessions:  # not two-tier with the environment's Redis
        assert sessions.health().store == f"sql {database}"
    with bootstrap(storage="memory") as sessions:
        assert sessions.health().storage == "memory"


def test_a_malformed_variable_is_an_error_naming_it(monkeypatch):
    monkeypatch.setenv("PLATFORM_SESSIONS_REDIS_URL", "redis://127.0.0.1:port/0")
    with pytest.raises(InvalidSetting, match="PLATFORM_SESSIONS_REDIS_URL: not a Redis URL") as raised:
        bootstrap()
    assert raised.value.setting == "PLATFORM_SESSIONS_REDIS_URL"


def test_the_routing_key_file_variable_gives_the_key(monkeypatch, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(ENV_KEY + "\n")
    monkeypatch.setenv("PLATFORM_SESSIONS_ROUTING_KEY_FILE", str(key_file))
    assert Settings.from_environment().routing_key == RoutingKey.from_text(ENV_KEY)
    monkeypatch.setenv("PLATFORM_SESSIONS_ROUTING_KEY", ENV_KEY)
    with pytest.raises(InvalidSetting, match="give one of them"):
        Settings.from_environment()
