"""The whole lifecycle through bootstrap() on Redis: embedded, one server, a cluster."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import redis

from platform_sessions.adapters.memory import InMemoryEventPublisher, ManualClock
from platform_sessions.adapters.redis import RedisKeys
from platform_sessions.domain.errors import InvalidInput, SessionNotFound
from platform_sessions.domain.token import SessionToken
from platform_sessions.entrypoints import bootstrap
from platform_sessions.entrypoints.bootstrap import ROUTING_KEY_ENV
from tests.builders import ROUTING_KEY
from tests.redis.legs import TEST_OPTIONS, cluster_client, everything_stored

USER = "alice@example.com"


@pytest.fixture(params=["fakeredis", "server", "cluster"])
def where(request: pytest.FixtureRequest) -> Iterator[dict[str, object]]:
    """bootstrap's storage arguments for each leg."""
    if request.param == "fakeredis":
        yield {"storage": "fakeredis"}
    elif request.param == "server":
        yield {"redis_url": request.getfixturevalue("clean_redis_url")}
    else:
        yield {"redis_cluster_nodes": request.getfixturevalue("clean_redis_cluster_nodes")}


def _stored(where: dict[str, object]) -> list[tuple[bytes, bytes]]:
    """Every key and value of the leg's database (none for the embedded one: it is private)."""
    if "redis_url" in where:
        with redis.Redis.from_url(str(where["redis_url"])) as client:
            return list(everything_stored(client))
    if "redis_cluster_nodes" in where:
        with cluster_client(where["redis_cluster_nodes"]) as client:  # type: ignore[arg-type]
            return list(everything_stored(client))
    return []


def test_start_resolve_switch_rotate_list_end_others_end_purge(where, clock: ManualClock):
    publisher = InMemoryEventPublisher()
    tokens: list[SessionToken] = []
    with bootstrap(
        clock=clock, event_publisher=publisher, routing_key=ROUTING_KEY, redis_options=TEST_OPTIONS, **where
    ) as sessions:
        mastodon = sessions.connect_platform(
            USER, name="Mastodon", platform_type="mastodon", instance_url="https://m.example", username="a"
        )
        pixelfed = sessions.connect_platform(
            USER, name="Pixelfed", platform_type="pixelfed", instance_url="https://p.example", username="a"
        )
        laptop = sessions.start_session(
            USER, user_agent="Firefox", ip_address="192.0.2.1", attributes={"r": 1}
        )
        phone = sessions.start_session(USER, user_agent="Safari", ip_address="192.0.2.2")
        tokens += [laptop.token, phone.token]
        context = sessions.resolve(str(laptop.token))
        assert context.platform == mastodon
        assert context.attributes == {"r": 1}

        assert sessions.switch_platform(context, pixelfed.id).changed
        assert sessions.resolve(str(laptop.token)).platform_id == pixelfed.id
        used = next(p for p in sessions.list_platforms(USER) if p.id == pixelfed.id)
        assert used.last_used_at == clock.now()

        sessions.deactivate_platform(USER, pixelfed.id)  # invalidates the cache, repoints sessions
        assert sessions.resolve(str(laptop.token)).platform_id == mastodon.id

        rotated = sessions.rotate(str(laptop.token))
        tokens.append(rotated.token)
        with pytest.raises(SessionNotFound):
            sessions.resolve(str(laptop.token))

        listed = sessions.list_sessions(USER, current=str(rotated.token))
        assert {s.client.user_agent for s in listed} == {"Firefox", "Safari"}
        assert [s.is_current for s in listed].count(True) == 1

        stored = _stored(where)
        assert sessions.end_all_sessions(USER, keep=str(rotated.token)) == 1
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
    for key, value in stored:
        assert USER.encode() not in key, "no key reveals the user id"
        for token in tokens:
            secret = token.value.split(".")[1].encode()
            assert secret not in key
            assert secret not in value


def test_events_reach_other_workers_on_the_users_channel(clean_redis_url, clock):
    channel = RedisKeys(ROUTING_KEY).events_channel(USER)
    with redis.Redis.from_url(clean_redis_url) as follower, follower.pubsub() as subscription:
        subscription.ssubscribe(channel)
        with bootstrap(
            redis_url=clean_redis_url, routing_key=ROUTING_KEY, clock=clock, redis_options=TEST_OPTIONS
        ) as sessions:
            started = sessions.start_session(USER)
            sessions.end_session(str(started.token))
        names: list[str] = []
        deadline = time.monotonic() + 5
        while len(names) < 2 and time.monotonic() < deadline:
            message = subscription.get_message(timeout=0.5)
            if message is not None and message["type"] == "smessage":
                names.append(json.loads(message["data"])["event"])
    assert names == ["SessionStarted", "SessionEnded"]


def test_each_embedded_bootstrap_is_its_own_world():
    first, second = bootstrap(storage="fakeredis"), bootstrap(storage="fakeredis")
    with first, second:
        started = first.start_session("alice")
        assert first.resolve(str(started.token)).user_id == "alice"
        with pytest.raises(SessionNotFound):
            second.resolve(str(started.token))


def test_explicit_memory_storage_needs_no_redis():
    with bootstrap(storage="memory") as sessions:
        assert sessions.resolve(str(sessions.start_session("alice").token)).user_id == "alice"


def test_a_real_redis_needs_a_stable_routing_key(monkeypatch):
    monkeypatch.delenv(ROUTING_KEY_ENV, raising=False)
    with pytest.raises(InvalidInput, match="routing_key"):
        bootstrap(redis_url="redis://127.0.0.1:6379/9")
    monkeypatch.setenv(ROUTING_KEY_ENV, "k" * 32)
    bootstrap(redis_url="redis://127.0.0.1:6379/9").close()  # nothing connects until used


@pytest.mark.parametrize(
    "arguments",
    [
        {"redis_url": "redis://127.0.0.1:6379/9", "redis_cluster_nodes": [("127.0.0.1", 7000)]},
        {"storage": "redis"},
        {"storage": "sql", "redis_url": "redis://127.0.0.1:6379/9"},
        {"redis_cluster_nodes": []},
    ],
    ids=["url and cluster", "redis without a url", "sql with a redis url", "no cluster nodes"],
)
def test_contradictory_redis_configuration_is_a_clear_error(arguments):
    with pytest.raises(InvalidInput):
        bootstrap(routing_key=ROUTING_KEY, **arguments)
