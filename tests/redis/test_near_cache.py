"""The near cache: a repeated resolve costs no round trip, yet never answers what Redis no
longer would.

Each test runs "processes" (:class:`Process`): a facade over the Redis storage with its own
client and near cache, all sharing one platform store as processes share their database.
The ``reader`` resolves through its near cache; the ``writer`` (no near cache) changes things
as another process would, and the reader's very next resolve must see the change: Redis sends
the invalidation report before the writer's reply, so no test waits for it.

The servers are private, not the shared one: Redis reports a write to a key under the tracked
prefix in *any* database, and a FLUSHDB of any database, to every tracking connection of the
server, so another test run's traffic there would drop entries and spoil the hit counts
asserted here. (tests/contracts/ runs the near cache on the shared server, asserting only
correctness.) The listeners run on :class:`Seconds`, moved by hand.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
import redis
from attrs import define
from dependency_injector import providers

from platform_sessions.adapters.redis import NearCache, RedisEndpoint, RedisOptions, open_near_cache
from platform_sessions.domain.context import SessionContext
from platform_sessions.domain.errors import PlatformNotFound, SessionNotFound, StoreUnavailable
from platform_sessions.domain.platform import PlatformConnection
from platform_sessions.domain.token import SessionToken
from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.memory_storage import MemoryStorage
from platform_sessions.entrypoints.redis_storage import RedisStorage, RedisStorageBuilder
from tests.builders import a_wiring, sessions_on
from tests.redis.near_caches import MAX_SILENCE_S, RETRY_AFTER_S, Seconds, near_cache_on, remembered
from tests.redis.round_trips import SendCounter, client_commands, count_sends
from tests.support.redis_clients import ping_error
from tests.support.redis_process import PrivateRedisServer, RedisServerFactory

READ_TIMEOUT_S = 5.0
CHILD_DEADLINE_S = 30


@define
class Process:
    """One process's facade over the Redis storage; counts its thread's round trips."""

    sessions: PlatformSessions
    storage: RedisStorage
    sends: SendCounter

    @property
    def near(self) -> NearCache[Any]:
        near: NearCache[Any] | None = self.storage.near_cache()
        assert near is not None, "this process has no near cache"
        return near

    def resolve_counting(self, token: str, **options: Any) -> tuple[SessionContext, int]:
        """Resolve, and count the round trips it took."""
        self.sends.reset()
        context = self.sessions.resolve(token, **options)
        return context, self.sends.of_this_thread()


StartProcess = Callable[..., Process]


@pytest.fixture
def server(redis_server_factory: RedisServerFactory) -> PrivateRedisServer:
    return redis_server_factory()


@pytest.fixture
def seconds() -> Seconds:
    return Seconds()


@pytest.fixture
def start(server, policy, clock, seconds) -> Iterator[StartProcess]:
    """Starts processes on ``server`` (or ``url``), closed after the test."""
    records = MemoryStorage(policy=policy)
    started: list[Process] = []

    def start_process(
        *, url: str | None = None, near_cache_size: int = 100, read_timeout: float = READ_TIMEOUT_S
    ) -> Process:
        url = url or server.url
        options = RedisOptions(
            connect_timeout=2.0,
            read_timeout=read_timeout,
            publish_in_background=False,
            near_cache_size=near_cache_size,
        )
        builder = RedisStorageBuilder(endpoint=RedisEndpoint.server(url), options=options)
        wiring = a_wiring(policy=policy, clock=clock)
        storage = builder.container(wiring)
        storage.platform_records.override(records)  # one platform store, as one database
        remembering = (
            near_cache_on(url, seconds, options=options, size=near_cache_size) if near_cache_size else None
        )
        if remembering is not None:
            storage.near_cache.override(providers.Object(remembering))
        sends = SendCounter()
        client = storage.client()
        assert isinstance(client, redis.Redis)
        count_sends(client, sends)
        opened = builder.open(wiring, container=storage)

        def close() -> None:
            opened.close()
            if remembering is not None:  # the test's own near cache, not the storage's to release
                remembering.close()

        process = Process(sessions_on(attrs.evolve(opened, close=close), policy=policy), storage, sends)
        started.append(process)
        return process

    yield start_process
    for process in started:
        process.sessions.close()


@pytest.fixture
def reader(start: StartProcess) -> Process:
    return start()


@pytest.fixture
def writer(start: StartProcess) -> Process:
    return start(near_cache_size=0)


@define
class Login:
    """Alice's session, on ``other``; ``default`` is her default platform."""

    token: str
    default: PlatformConnection
    other: PlatformConnection


@pytest.fixture
def login(writer: Process) -> Login:
    default = _connect(writer, "Default")
    other = _connect(writer, "Other")
    return Login(another_session(writer, other), default, other)


def another_session(writer: Process, platform: PlatformConnection, **attributes: Any) -> str:
    """A new session of Alice's on ``platform``; its token."""
    started = writer.sessions.start_session("alice", platform_id=platform.id, attributes=attributes or None)
    return started.token.value


def _connect(process: Process, name: str) -> PlatformConnection:
    return process.sessions.connect_platform(
        "alice",
        name=name,
        platform_type="mastodon",
        instance_url=f"https://{name.lower()}.example",
        username="a",
    )


def assert_served_from_near_cache(process: Process, token: str, **options: Any) -> SessionContext:
    hits = process.near.stats.hits
    context, sends = process.resolve_counting(token, **options)
    assert (sends, process.near.stats.hits) == (0, hits + 1)
    return context


# --- hits -------------------------------------------------------------------------------------


def test_a_repeated_resolve_sends_redis_nothing(server, reader, login):
    first = remembered(reader, login.token)
    hits = reader.near.stats.hits

    with client_commands([(server.host, server.port)]) as commands:
        again = [reader.sessions.resolve(login.token) for _ in range(3)]

    assert commands == []  # MONITOR: not even the listener spoke
    assert reader.near.stats.hits == hits + 3
    assert again == [first] * 3
    assert first.platform == login.other


def test_each_requested_platform_is_remembered_apart(reader, login):
    remembered(reader, login.token, platform_override=login.default.id)
    remembered(reader, login.token)

    overridden = assert_served_from_near_cache(reader, login.token, platform_override=login.default.id)
    plain = assert_served_from_near_cache(reader, login.token)

    assert (overridden.platform, overridden.is_override) == (login.default, True)
    assert (plain.platform, plain.is_override) == (login.other, False)


def test_records_read_from_the_backing_store_are_not_remembered(reader, writer, login, monkeypatch):
    """No report covers the backing store: only records read from the platform cache key are
    remembered. (A refill that writes that key spoils its own ticket anyway; one whose write
    lost a race to an invalidation writes nothing, and is what this test makes of every fill.)"""
    remembered(reader, login.token)
    writer.sessions.update_platform("alice", login.other.id, name="Renamed")  # drops the platform cache
    monkeypatch.setattr(reader.storage.platform_cache(), "fill", lambda *_: False)
    fills = reader.near.stats.fills

    for _ in range(2):
        refilled, sends = reader.resolve_counting(login.token)
        assert sends == 1  # the resolve; the platform cache stays empty
        assert refilled.platform is not None
        assert refilled.platform.name == "Renamed"
    assert reader.near.stats.fills == fills

    monkeypatch.undo()
    assert remembered(reader, login.token) == refilled


def test_the_least_recently_used_session_is_dropped_beyond_the_size(start, writer, login):
    reader = start(near_cache_size=2)
    first, second, third = (
        login.token,
        another_session(writer, login.other),
        another_session(writer, login.other),
    )
    remembered(reader, first)
    remembered(reader, second)
    assert_served_from_near_cache(reader, first)  # now more recent than the second
    remembered(reader, third)

    assert len(reader.near) == 2
    assert_served_from_near_cache(reader, first)
    assert_served_from_near_cache(reader, third)
    assert reader.resolve_counting(second)[1] == 1


def test_nested_attributes_changed_by_a_caller_do_not_reach_the_next_hit(reader, writer, login):
    token = another_session(writer, login.other, cart={"items": [1]})
    filled = remembered(reader, token)
    filled.session.attributes["cart"]["items"].append("from the filling resolve")
    hit = assert_served_from_near_cache(reader, token)
    hit.session.attributes["cart"]["items"].append("from a hit")

    assert assert_served_from_near_cache(reader, token).session.attributes["cart"] == {"items": [1]}


# --- what another process changes is seen at once ---------------------------------------------


def test_a_session_ended_elsewhere_is_not_found(reader, writer, login):
    remembered(reader, login.token)

    assert writer.sessions.end_session(login.token)

    with pytest.raises(SessionNotFound):
        reader.sessions.resolve(login.token)
    assert reader.near.stats.invalidated >= 1


def test_a_switch_elsewhere_is_seen(reader, writer, login):
    remembered(reader, login.token)

    assert writer.sessions.switch_platform(login.token, login.default.id).changed

    assert reader.sessions.resolve(login.token).platform == login.default


def test_a_rotation_elsewhere_retires_the_old_token(reader, writer, login):
    before = remembered(reader, login.token)

    rotated = writer.sessions.rotate(login.token)

    with pytest.raises(SessionNotFound):
        reader.sessions.resolve(login.token)
    assert reader.sessions.resolve(rotated.token.value).session.session_id == before.session.session_id


def test_a_touch_elsewhere_is_seen_before_this_process_would_touch(reader, writer, login, clock, policy):
    session = remembered(reader, login.token).session
    now = clock.advance(policy.touch_interval / 2)  # no touch due for the reader

    assert writer.storage.user_sessions().touch(session, now) is not None  # as its resolve would

    assert reader.sessions.resolve(login.token).session.last_seen_at == now


def test_a_data_write_elsewhere_is_seen(reader, writer, login):
    remembered(reader, login.token)

    writer.sessions.write_session_data(login.token, set={"cart": [1, 2]})

    assert reader.sessions.resolve(login.token).session.data == {"cart": [1, 2]}
    assert reader.near.stats.invalidated >= 1


def test_nested_data_changed_by_a_caller_does_not_reach_the_next_hit(reader, writer, login):
    writer.sessions.write_session_data(login.token, set={"cart": {"items": [1]}})
    filled = remembered(reader, login.token)
    filled.session.data["cart"]["items"].append("from the filling resolve")
    hit = assert_served_from_near_cache(reader, login.token)
    hit.session.data["cart"]["items"].append("from a hit")

    assert assert_served_from_near_cache(reader, login.token).session.data["cart"] == {"items": [1]}


def test_an_anonymous_session_is_remembered_and_its_data_writes_seen(reader, writer):
    token = writer.sessions.start_anonymous_session({"theme": "dark"}).token.value
    remembered(reader, token)
    assert assert_served_from_near_cache(reader, token).session.data == {"theme": "dark"}

    writer.sessions.write_session_data(token, set={"theme": "light"})

    assert reader.sessions.resolve(token).session.data == {"theme": "light"}


def test_a_renamed_platform_is_seen(reader, writer, login):
    remembered(reader, login.token)

    writer.sessions.update_platform("alice", login.other.id, name="Renamed")

    context = reader.sessions.resolve(login.token)
    assert context.platform is not None
    assert context.platform.name == "Renamed"


def test_a_new_default_platform_is_seen(reader, writer, login):
    remembered(reader, login.token)

    writer.sessions.set_default_platform("alice", login.other.id)

    context = reader.sessions.resolve(login.token)
    assert context.platform is not None
    assert context.platform.is_default


def test_a_deactivated_active_platform_falls_back_to_the_default(reader, writer, login):
    remembered(reader, login.token)

    writer.sessions.deactivate_platform("alice", login.other.id)

    assert reader.sessions.resolve(login.token).platform == login.default


def test_a_removed_platform_is_no_longer_a_valid_override(reader, writer, login):
    remembered(reader, login.token, platform_override=login.default.id)

    writer.sessions.remove_platform("alice", login.default.id)

    with pytest.raises(PlatformNotFound):
        reader.sessions.resolve(login.token, platform_override=login.default.id)


def test_a_flushed_database_empties_the_near_cache(reader, writer, login):
    remembered(reader, login.token)
    cleared = reader.near.stats.cleared

    writer.storage.client().flushdb()

    with pytest.raises(SessionNotFound):
        reader.sessions.resolve(login.token)
    assert reader.near.stats.cleared > cleared


# --- touches and fills ------------------------------------------------------------------------


def test_a_due_touch_goes_to_redis_and_is_made(reader, writer, login, clock, policy):
    remembered(reader, login.token)
    now = clock.advance(policy.touch_interval)

    touched, sends = reader.resolve_counting(login.token)

    assert sends == 1
    assert touched.session.last_seen_at == now
    stored = writer.storage.user_sessions().get(SessionToken.parse(login.token).digest)
    assert stored is not None
    assert stored.last_seen_at == now
    assert remembered(reader, login.token) == touched  # the touch's own report spoiled its fill
    assert_served_from_near_cache(reader, login.token)


@pytest.mark.parametrize("changed", ["session", "platform cache"])
def test_a_fill_is_refused_when_a_key_it_read_changed_after_the_ticket(reader, writer, login, changed):
    digest = SessionToken.parse(login.token).digest
    keys = reader.storage.keys()
    near = reader.near
    dependencies = [keys.session(digest), keys.platform_cache(digest.routing_tag)]
    _, ticket = near.lookup("the read before the change", dependencies, lambda _: True)
    assert ticket is not None
    spoiled = near.stats.spoiled_fills

    if changed == "session":
        writer.sessions.switch_platform(login.token, login.default.id)
    else:
        writer.sessions.update_platform("alice", login.other.id, name="Renamed")

    assert near.fill(ticket, "the read before the change", "stale") is False
    assert near.get("the read before the change") is None
    assert near.stats.spoiled_fills == spoiled + 1


def test_a_fill_whose_keys_did_not_change_is_kept(reader, login):
    digest = SessionToken.parse(login.token).digest
    keys = reader.storage.keys()
    dependencies = [keys.session(digest), keys.platform_cache(digest.routing_tag)]
    _, ticket = reader.near.lookup("a read", dependencies, lambda _: True)
    assert ticket is not None

    assert reader.near.fill(ticket, "a read", "fresh") is True
    assert reader.near.get("a read") == "fresh"


def test_a_resolve_whose_reply_a_write_overtook_is_not_remembered(reader, writer, login, monkeypatch):
    """The race the tickets close: the reply was read, then another process ended the session,
    then the resolve would have stored the reply."""
    query = reader.storage.session_contexts()
    read = query._read

    def read_then_end_elsewhere(*args: Any) -> Any:
        reply = read(*args)
        writer.sessions.end_session(login.token)
        return reply

    monkeypatch.setattr(query, "_read", read_then_end_elsewhere)
    assert reader.sessions.resolve(login.token).platform == login.other  # true when it was read
    monkeypatch.undo()

    with pytest.raises(SessionNotFound):
        reader.sessions.resolve(login.token)


# --- a lost, silent or refused invalidation connection ----------------------------------------


def test_a_killed_invalidation_connection_empties_the_cache_until_it_is_back(
    server, reader, writer, login, seconds
):
    remembered(reader, login.token)
    generation = reader.near.listener.generation

    with redis.Redis(host=server.host, port=server.port) as admin:
        assert admin.client_kill_filter(_type="pubsub") == 1  # the reader's listener alone

    assert reader.resolve_counting(login.token)[1] == 1
    assert reader.near.listener.generation == generation + 1
    assert len(reader.near) == 0
    reader.near.maintain()  # a beat: no reconnect before retry_after
    assert reader.resolve_counting(login.token)[1] == 1

    seconds.advance(RETRY_AFTER_S)
    reader.near.maintain()  # the beat that reconnects
    remembered(reader, login.token)
    assert_served_from_near_cache(reader, login.token)
    writer.sessions.end_session(login.token)  # and the new connection hears of changes
    with pytest.raises(SessionNotFound):
        reader.sessions.resolve(login.token)


def test_a_silent_invalidation_connection_is_trusted_for_max_silence_only(server, start, login, seconds):
    reader = start(read_timeout=0.3)  # the frozen server's replies are awaited briefly
    remembered(reader, login.token)
    generation = reader.near.listener.generation
    server.freeze()
    try:
        seconds.advance(MAX_SILENCE_S * 0.75)  # past half: this beat sends a PING
        reader.near.maintain()
        assert_served_from_near_cache(reader, login.token)  # as an idle server would look

        seconds.advance(MAX_SILENCE_S * 0.5)  # the connection was last proven live too long ago
        reader.near.maintain()
        assert not reader.near.listener.listening
        with pytest.raises(StoreUnavailable):  # not a hit: the resolve went to Redis
            reader.sessions.resolve(login.token)

        seconds.advance(MAX_SILENCE_S)  # the PING went unanswered: the connection is given up
        reader.near.maintain()
        with pytest.raises(StoreUnavailable):
            reader.sessions.resolve(login.token)
        assert reader.near.listener.generation == generation + 1
        assert len(reader.near) == 0
    finally:
        server.thaw()
    # Awake again before the short timeouts below meet it.
    assert ping_error(server.host, server.port, timeout_s=5.0) is None

    seconds.advance(RETRY_AFTER_S)
    reader.near.maintain()
    remembered(reader, login.token)
    assert_served_from_near_cache(reader, login.token)


def test_a_server_refusing_tracking_leaves_the_near_cache_off(server, start, writer, login):
    with redis.Redis(host=server.host, port=server.port) as admin:
        admin.execute_command("ACL", "SETUSER", "limited", "on", "nopass", "~*", "&*", "+@all", "-client")
    reader = start(url=f"redis://limited:any@{server.host}:{server.port}/0")
    reader.sessions.resolve(login.token)  # connects and loads the script

    for _ in range(3):
        context, sends = reader.resolve_counting(login.token)
        assert (sends, context.platform) == (1, login.other)
    assert reader.near.listener.supported is False
    assert reader.near.stats.hits == 0
    writer.sessions.end_session(login.token)
    with pytest.raises(SessionNotFound):
        reader.sessions.resolve(login.token)


# --- where there is no near cache -------------------------------------------------------------


def test_no_near_cache_for_fakeredis_a_cluster_or_size_zero() -> None:
    assert open_near_cache(RedisEndpoint.in_process(), RedisOptions()) is None
    assert open_near_cache(RedisEndpoint.cluster([("127.0.0.1", 7000)]), RedisOptions()) is None
    assert (
        open_near_cache(RedisEndpoint.server("redis://127.0.0.1:6379/0"), RedisOptions(near_cache_size=0))
        is None
    )


def test_a_near_cache_is_built_without_connecting() -> None:
    near = open_near_cache(RedisEndpoint.server("redis://127.0.0.1:9/0"), RedisOptions(connect_timeout=0.2))
    assert near is not None  # nothing listens on port 9: it would have failed here
    try:
        assert near.get("anything") is None
        assert not near.listener.listening
        assert near.listener.supported
    finally:
        near.close()


def test_every_resolve_goes_to_redis_with_size_zero(start, login):
    process = start(near_cache_size=0)
    assert process.storage.near_cache() is None
    process.sessions.resolve(login.token)  # connects and loads the script
    assert [process.resolve_counting(login.token)[1] for _ in range(3)] == [1, 1, 1]


# --- fork -------------------------------------------------------------------------------------


def test_a_forked_child_opens_its_own_invalidation_connection(reader, writer, login, seconds):
    remembered(reader, login.token)
    generation = reader.near.listener.generation
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, and leave without pytest's teardown
        signal.alarm(CHILD_DEADLINE_S)  # a stuck child dies, and the parent reads an empty report
        os.close(read_end)
        os.write(write_end, json.dumps(_in_the_child(reader, login, seconds)).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        report = json.loads(pipe.read() or "{}")
    os.waitpid(pid, 0)

    assert report == {
        "generation": generation + 1,  # the parent's socket was dropped, not reused
        "hits_from_the_parents_entries": 0,
        "hit_with_its_own_connection": True,
    }
    assert reader.near.listener.generation == generation  # the parent's connection is intact
    assert_served_from_near_cache(reader, login.token)
    writer.sessions.end_session(login.token)
    with pytest.raises(SessionNotFound):
        reader.sessions.resolve(login.token)


def _in_the_child(reader: Process, login: Login, seconds: Seconds) -> dict[str, Any]:
    try:
        hits = reader.near.stats.hits
        reader.sessions.resolve(login.token)
        report: dict[str, Any] = {
            "generation": reader.near.listener.generation,
            "hits_from_the_parents_entries": reader.near.stats.hits - hits,
        }
        seconds.advance(RETRY_AFTER_S)  # the child's copy of the clock: reconnect now
        reader.near.maintain()  # the beat the child's own heartbeat thread would make
        remembered(reader, login.token)
        reader.sessions.resolve(login.token)
        report["hit_with_its_own_connection"] = reader.near.stats.hits > hits
    except BaseException as error:  # anything, reported to the parent instead of lost
        return {"error": repr(error)}
    return report
