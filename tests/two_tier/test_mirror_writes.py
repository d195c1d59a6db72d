"""What a mirror put sends inside Redis: only the fields a new version changed.

A platform switch changes two or three of a session's fields; the put that mirrors it used to
delete the hash and write every field again. Counted by the server (``INFO commandstats`` of a
private redis-server: commands run inside a script are counted there, not on the wire).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from platform_sessions.adapters.redis import RedisClient, RedisEndpoint, RedisOptions, open_redis_client
from platform_sessions.adapters.redis.keys import RedisKeys
from platform_sessions.adapters.redis.session_codec import encode_session
from platform_sessions.adapters.redis.session_mirror import RedisSessionMirror
from platform_sessions.domain.session import SessionChanges
from tests.builders import ROUTING_KEY, a_session
from tests.support.services import RedisServerFactory

KEYS = RedisKeys(routing_key=ROUTING_KEY, prefix="mirror-writes:")


@pytest.fixture
def client(redis_server_factory: RedisServerFactory) -> Iterator[RedisClient]:
    server = redis_server_factory()
    opened = open_redis_client(RedisEndpoint.server(server.url), RedisOptions())
    try:
        yield opened
    finally:
        opened.close()


def _calls(client: RedisClient) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _stored(client: RedisClient, key: str) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in client.hgetall(key).items()}


def test_a_put_over_an_older_version_writes_only_what_changed(client, clock, policy):
    mirror = RedisSessionMirror(client, KEYS, policy)
    session = a_session(now=clock.now(), policy=policy)
    assert mirror.put(session, clock.now()).status == "stored"
    switched = session.apply(SessionChanges(active_platform_id="p2"))
    client.config_resetstat()

    assert mirror.put(switched, clock.now()).status == "stored"

    calls = _calls(client)
    assert calls.get("hset") == 1  # one HSET of the changed fields, not one per field
    assert "del" not in calls
    assert "hdel" not in calls
    key = KEYS.session(session.token_digest)
    assert _stored(client, key) == encode_session(switched, KEYS.label_for(session.logged_in_user_id))


def test_a_put_drops_a_field_the_new_version_does_not_have(client, clock, policy):
    mirror = RedisSessionMirror(client, KEYS, policy)
    session = a_session(now=clock.now(), policy=policy)
    mirror.put(session, clock.now())
    key = KEYS.session(session.token_digest)
    client.hset(key, "stray", "left by an older writer")
    switched = session.apply(SessionChanges(active_platform_id="p2"))

    assert mirror.put(switched, clock.now()).status == "stored"

    assert _stored(client, key) == encode_session(switched, KEYS.label_for(session.logged_in_user_id))


def test_a_put_over_something_unreadable_replaces_it_whole(client, clock, policy):
    mirror = RedisSessionMirror(client, KEYS, policy)
    session = a_session(now=clock.now(), policy=policy)
    key = KEYS.session(session.token_digest)
    client.hset(key, mapping={"schema": "garbage", "stray": "x"})

    assert mirror.put(session, clock.now()).status == "stored"

    assert _stored(client, key) == encode_session(session, KEYS.label_for(session.logged_in_user_id))
