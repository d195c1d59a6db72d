"""The near cache's heartbeat thread, as ``open_near_cache`` builds it: real time, a private server.

The other near-cache tests drive ``maintain()`` by hand on a clock they move; these check that
the thread does the same by itself: connects after the first use, keeps an idle process
verified, reconnects after the connection was killed without any request, and stops on close;
that ``health()`` reports the near cache; and that a write by another OS process reaches it.
They wait for the thread with a deadline (never a fixed sleep) and time nothing.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis

from platform_sessions.adapters.redis import NearCache, RedisEndpoint, RedisOptions, open_near_cache
from platform_sessions.domain.errors import SessionNotFound
from platform_sessions.entrypoints import bootstrap
from platform_sessions.entrypoints.facade import PlatformSessions
from tests.builders import ROUTING_KEY
from tests.support.redis_process import PrivateRedisServer, RedisServerFactory

MAX_SILENCE = timedelta(seconds=0.4)  # beats every 0.1 s
FAST_BEATS = RedisOptions(near_cache_max_silence=MAX_SILENCE)
DEADLINE_S = 10.0

pytestmark = pytest.mark.services


@pytest.fixture
def server(redis_server_factory: RedisServerFactory) -> PrivateRedisServer:
    return redis_server_factory()


@pytest.fixture
def near(server: PrivateRedisServer) -> Iterator[NearCache[Any]]:
    cache = open_near_cache(
        RedisEndpoint.server(server.url), RedisOptions(near_cache_max_silence=MAX_SILENCE)
    )
    assert cache is not None
    yield cache
    cache.close()


def eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {DEADLINE_S} s: {what}")
        time.sleep(0.02)


def heartbeats() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "platform-sessions-near-cache" and t.is_alive()]


def test_nothing_connects_before_the_first_use_and_the_thread_connects_after_it(near):
    assert not near.listener.listening
    assert near.get("anything") is None  # the first use starts the heartbeat; it never waits
    eventually(lambda: near.listener.listening, "the heartbeat connected")


def test_an_idle_process_stays_verified(near):
    near.get("anything")
    eventually(lambda: near.listener.listening, "the heartbeat connected")
    generation = near.listener.generation

    time.sleep(4 * MAX_SILENCE.total_seconds())  # idle: nobody asks the near cache anything

    # Only the thread's PINGs can have kept it verified, on the same connection.
    assert near.listener.listening
    assert near.listener.generation == generation


def test_a_killed_connection_is_reopened_without_any_request(server, near):
    near.get("anything")
    eventually(lambda: near.listener.listening, "the heartbeat connected")
    generation = near.listener.generation

    with redis.Redis(host=server.host, port=server.port) as admin:
        assert admin.client_kill_filter(_type="pubsub") == 1

    eventually(lambda: near.listener.generation == generation + 1, "the loss was noticed")
    eventually(lambda: near.listener.listening, "the heartbeat reconnected")


def test_close_stops_the_thread(server):
    cache = open_near_cache(
        RedisEndpoint.server(server.url), RedisOptions(near_cache_max_silence=MAX_SILENCE)
    )
    assert cache is not None
    before = len(heartbeats())
    cache.get("anything")
    eventually(lambda: len(heartbeats()) == before + 1, "the heartbeat started")

    cache.close()

    assert len(heartbeats()) == before
    assert not cache.listener.listening
    assert cache.get("anything") is None  # closed: nothing starts again
    assert len(heartbeats()) == before


def test_health_reports_the_near_cache(server):
    sessions = bootstrap(redis_url=server.url, routing_key=ROUTING_KEY, redis_options=FAST_BEATS)
    try:
        token = str(sessions.start_session("alice").token)
        sessions.resolve(token)  # the first use starts the heartbeat
        eventually(lambda: sessions.health().counters["near_cache_listening"] == 1, "listening")
        eventually(lambda: _resolved_from_memory(sessions, token), "a hit")

        counters = sessions.health().counters
        assert counters["near_cache_entries"] == 1
        assert counters["near_cache_fills"] >= 1
    finally:
        sessions.close()


def _resolved_from_memory(sessions: PlatformSessions, token: str) -> bool:
    hits = sessions.health().counters["near_cache_hits"]
    sessions.resolve(token)
    return sessions.health().counters["near_cache_hits"] == hits + 1


ENDER = """
import sys
from platform_sessions.domain.errors import SessionNotFound
from platform_sessions.entrypoints import bootstrap
from platform_sessions.adapters.redis import RedisOptions
sessions = bootstrap(redis_url=sys.argv[1], routing_key=bytes.fromhex(sys.argv[2]),
                     redis_options=RedisOptions(near_cache_size=0))
print(sessions.end_session(sys.argv[3]))
sessions.close()
"""


def test_a_session_ended_by_another_os_process_is_not_served_from_memory(server):
    sessions = bootstrap(redis_url=server.url, routing_key=ROUTING_KEY, redis_options=FAST_BEATS)
    try:
        token = str(sessions.start_session("alice").token)
        sessions.resolve(token)
        eventually(lambda: _resolved_from_memory(sessions, token), "a hit")

        ended = subprocess.run(
            [sys.executable, "-c", ENDER, server.url, ROUTING_KEY.secret.hex(), token],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )

        assert ended.stdout.strip() == "True"
        with pytest.raises(SessionNotFound):  # the other process's write was reported here
            sessions.resolve(token)
    finally:
        sessions.close()
