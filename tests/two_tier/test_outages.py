"""Either store away, or both: StoreUnavailable, never a wrong answer, no leaked connections."""

from __future__ import annotations

import pytest

from platform_sessions.adapters.redis import RedisEndpoint, RedisOptions
from platform_sessions.adapters.two_tier import BreakerSettings, TwoTierSettings
from platform_sessions.domain.errors import StoreUnavailable
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.routing import issue_token
from platform_sessions.entrypoints import bootstrap
from tests.builders import ROUTING_KEY
from tests.two_tier.wiring import two_tier_sessions

UNREACHABLE_POSTGRES = "postgresql+psycopg://nobody@127.0.0.1:9/none"
FAST = RedisOptions(connect_timeout=0.1, read_timeout=0.2)
QUICK_BREAKER = TwoTierSettings(
    breaker=BreakerSettings(failure_threshold=1, open_seconds=0.2), run_relay=False, auto_rewarm=False
)


def test_postgres_unreachable_is_store_unavailable_with_a_clear_message_and_no_leaked_connection(
    redis_server_factory,
):
    server = redis_server_factory()
    with two_tier_sessions(
        RedisEndpoint.server(server.url),
        UNREACHABLE_POSTGRES,
        policy=SessionPolicy(),
        options=FAST,
        settings=QUICK_BREAKER,
        migrate=False,
    ) as (sessions, storage):
        with pytest.raises(StoreUnavailable, match="OperationalError"):
            sessions.start_session("alice")
        # A token nobody has: Redis misses, the slot is not known complete, the database is asked.
        with pytest.raises(StoreUnavailable):
            sessions.resolve(issue_token(ROUTING_KEY, "alice").value)
        assert storage.engine().pool.checkedout() == 0  # type: ignore[attr-defined]  # a QueuePool
        health = storage.health().report()
        assert health.database_reachable is False
        assert health.redis_reachable is True
        assert health.healthy is False


def test_redis_and_the_database_down_together_is_store_unavailable(redis_server_factory):
    server = redis_server_factory()
    with bootstrap(
        redis_url=server.url,
        database_url=UNREACHABLE_POSTGRES,
        routing_key=ROUTING_KEY,
        redis_options=FAST,
        two_tier=QUICK_BREAKER,
    ) as sessions:
        server.kill()
        token = issue_token(ROUTING_KEY, "alice").value
        for _ in range(3):  # Redis refused (the breaker opens), then the database alone
            with pytest.raises(StoreUnavailable):
                sessions.resolve(token)
        with pytest.raises(StoreUnavailable):
            sessions.start_session("alice")
        assert sessions.health().healthy is False


def test_the_database_alone_answers_while_redis_is_down(redis_server_factory, postgres_url):
    server = redis_server_factory()
    policy = SessionPolicy()
    with two_tier_sessions(
        RedisEndpoint.server(server.url),
        postgres_url,
        policy=policy,
        settings=QUICK_BREAKER,
        options=FAST,
    ) as (sessions, storage):
        platform = sessions.connect_platform(
            "alice", name="M", platform_type="mastodon", instance_url="https://m.example", username="a"
        )
        started = sessions.start_session("alice")
        server.kill()
        context = sessions.resolve(started.token.value)
        assert context.platform == platform
        assert sessions.rotate(context).token.value != started.token.value
        assert storage.breaker().state.value == "open"
        assert storage.metrics().snapshot()["database_fallbacks"] >= 1
