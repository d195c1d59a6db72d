"""Redis down, frozen or restarted: "unavailable", never "not found", and back without help."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest

from platform_sessions.adapters.memory import InMemoryPlatformDirectory, InMemoryPlatformStore
from platform_sessions.adapters.redis import (
    RedisClient,
    RedisEndpoint,
    RedisEventPublisher,
    RedisKeys,
    RedisOptions,
    RedisPlatformCache,
    RedisPlatformDirectory,
    RedisSessionContextQuery,
    RedisUserSessionRepository,
    open_redis_client,
)
from platform_sessions.domain.errors import StoreUnavailable
from platform_sessions.domain.events import EndReason, SessionEnded
from platform_sessions.domain.session import SessionChanges
from platform_sessions.entrypoints import bootstrap
from tests.builders import ROUTING_KEY, a_session
from tests.redis.legs import TEST_OPTIONS
from tests.support.ports import free_loopback_port

FAST = RedisOptions(connect_timeout=0.25, read_timeout=0.5, retries=0)


def _adapters(client: RedisClient, policy):  # type: ignore[no-untyped-def]
    keys = RedisKeys(ROUTING_KEY)
    cache = RedisPlatformCache(client, keys, ttl=timedelta(minutes=5))
    directory = RedisPlatformDirectory(cache, InMemoryPlatformDirectory(InMemoryPlatformStore()))
    return (
        RedisUserSessionRepository(client, keys, policy),
        directory,
        RedisSessionContextQuery(client, keys, policy, cache, directory),
    )


def _every_operation_is_unavailable(client: RedisClient, policy, clock) -> None:  # type: ignore[no-untyped-def]
    repository, directory, query = _adapters(client, policy)
    session = a_session(now=clock.now(), policy=policy)
    operations = {
        "create": lambda: repository.create(session, max_sessions=3),
        "get": lambda: repository.get(session.token_digest),
        "update": lambda: repository.update(session, SessionChanges(active_platform_id="p")),
        "touch": lambda: repository.touch(session, clock.now()),
        "delete": lambda: repository.delete(session),
        "list": lambda: repository.list_for_user("alice", clock.now()),
        "delete all": lambda: repository.delete_all_for_user("alice"),
        "purge": lambda: repository.purge_expired(clock.now()),
        "resolve": lambda: query.load(session.token_digest, now=clock.now()),
        "directory": lambda: directory.get("alice", "p"),
        "invalidate": lambda: directory.invalidate("alice"),
    }
    answered = [name for name, operation in operations.items() if not _raises_store_unavailable(operation)]
    assert answered == []


def _raises_store_unavailable(operation) -> bool:  # type: ignore[no-untyped-def]
    try:
        operation()
    except StoreUnavailable as error:
        return str(error).startswith("Redis failed while")
    return False


def test_a_server_that_refuses_connections_is_unavailable_not_empty(policy, clock):
    client = open_redis_client(RedisEndpoint.server(f"redis://127.0.0.1:{free_loopback_port()}/0"), FAST)
    _every_operation_is_unavailable(client, policy, clock)


def test_a_frozen_server_is_unavailable_within_the_read_timeout(redis_server_factory, policy, clock):
    server = redis_server_factory()
    client = open_redis_client(RedisEndpoint.server(server.url), FAST)
    repository, _, query = _adapters(client, policy)
    session = a_session(now=clock.now(), policy=policy)
    repository.create(session, max_sessions=3)
    server.freeze()
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            query.load(session.token_digest, now=clock.now())
        assert time.monotonic() - started < 2 * FAST.read_timeout + 0.5
    finally:
        server.thaw()
    assert query.load(session.token_digest, now=clock.now()) is not None


def test_a_restarted_server_reloads_the_scripts_by_itself(redis_server_factory, policy, clock):
    server = redis_server_factory()
    client = open_redis_client(RedisEndpoint.server(server.url), TEST_OPTIONS)
    repository, _, query = _adapters(client, policy)
    repository.create(a_session(now=clock.now(), policy=policy), max_sessions=3)
    server.restart()  # empty, and without the scripts: NOSCRIPT on the next EVALSHA
    session = a_session(now=clock.now(), policy=policy)
    for _ in range(3):  # the first call after the restart may meet a pooled dead connection
        try:
            repository.create(session, max_sessions=3)
            break
        except StoreUnavailable:
            continue
    assert query.load(session.token_digest, now=clock.now()) is not None


def test_a_flushed_script_cache_is_reloaded_on_every_leg(redis_client, policy, clock):
    repository, directory, query = _adapters(redis_client, policy)
    session = a_session(now=clock.now(), policy=policy)
    repository.create(session, max_sessions=3)
    redis_client.script_flush()
    assert query.load(session.token_digest, now=clock.now()) is not None
    assert repository.update(session, SessionChanges(active_platform_id="p2")).version == 2
    assert directory.get("alice", "p2") is None


def test_an_unreachable_cluster_is_unavailable_at_startup():
    with pytest.raises(StoreUnavailable, match="cluster"):
        open_redis_client(RedisEndpoint.cluster([("127.0.0.1", free_loopback_port())]), FAST)


def test_a_failed_publish_is_logged_never_raised(policy, clock, caplog):
    client = open_redis_client(RedisEndpoint.server(f"redis://127.0.0.1:{free_loopback_port()}/0"), FAST)
    publisher = RedisEventPublisher(client, RedisKeys(ROUTING_KEY))
    caplog.set_level(logging.WARNING)
    publisher.publish(
        SessionEnded(user_id="alice", occurred_at=clock.now(), session_handle="h", reason=EndReason.LOGOUT)
    )
    assert any("could not publish SessionEnded" in record.getMessage() for record in caplog.records)


def test_the_facade_reports_an_outage_instead_of_logging_anyone_out(redis_server_factory, clock):
    server = redis_server_factory()
    with bootstrap(
        redis_url=server.url, routing_key=ROUTING_KEY, clock=clock, redis_options=FAST
    ) as sessions:
        token = str(sessions.start_session("alice").token)
        server.kill()
        with pytest.raises(StoreUnavailable):
            sessions.resolve(token)
