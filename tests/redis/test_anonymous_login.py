"""A visitor's data carried into login on a cluster, where the visitor's session (random routing
tag) and the user's slot live on different nodes: the login creates the user's session there,
then deletes the visitor's (no script spans two slots), through the facade on the Redis-only
and the two-tier storage."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis.cluster import RedisCluster

from platform_sessions.adapters.redis import RedisEndpoint
from platform_sessions.domain.errors import SessionNotFound
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.redis_storage import RedisStorageBuilder
from tests.builders import ROUTING_KEY, a_wiring, sessions_on
from tests.redis.legs import TEST_OPTIONS
from tests.two_tier.wiring import two_tier_sessions

ATTEMPTS = 32  # a random tag lands on another node than the user's two times in three


@pytest.fixture(params=["redis", "two-tier"])
def facade(request: pytest.FixtureRequest, tmp_path, clock) -> Iterator[PlatformSessions]:  # type: ignore[no-untyped-def]
    nodes = request.getfixturevalue("clean_redis_cluster_nodes")
    endpoint = RedisEndpoint.cluster(nodes)
    policy = SessionPolicy()
    if request.param == "redis":
        builder = RedisStorageBuilder(endpoint=endpoint, options=TEST_OPTIONS)
        with sessions_on(builder.open(a_wiring(policy=policy, clock=clock)), policy=policy) as sessions:
            yield sessions
        return
    url = f"sqlite:///{tmp_path / 'carry.db'}"
    with two_tier_sessions(endpoint, url, policy=policy, clock=clock, options=TEST_OPTIONS) as (sessions, _):
        yield sessions


def _node_of(client: RedisCluster, key: str) -> str:
    node = client.get_node_from_key(key)
    return f"{node.host}:{node.port}"


def test_a_visitors_data_is_carried_into_login_across_cluster_nodes(facade, clean_redis_cluster_nodes):
    host, port = clean_redis_cluster_nodes[0]
    cluster = RedisCluster(host=host, port=port)
    user_slot = "ps:{" + ROUTING_KEY.tag_for("alice").value + "}"
    try:
        for _ in range(ATTEMPTS):
            visitor = facade.start_anonymous_session({"cart": [1, 2], "next": "/checkout"})
            tag = visitor.token.value.split(".", 1)[0]
            if _node_of(cluster, "ps:{" + tag + "}") != _node_of(cluster, user_slot):
                break
            facade.end_session(str(visitor.token))
        else:
            pytest.fail(f"no visitor's tag fell on another node in {ATTEMPTS} tries")
    finally:
        cluster.close()
    facade.write_session_data(str(visitor.token), set={"theme": "dark"})

    started = facade.start_session("alice", carry_from=str(visitor.token))

    assert dict(started.context.session.data) == {"cart": [1, 2], "next": "/checkout", "theme": "dark"}
    assert started.token.value.split(".", 1)[0] == ROUTING_KEY.tag_for("alice").value
    with pytest.raises(SessionNotFound):
        facade.resolve(str(visitor.token))  # the visitor's token is dead
    resolved = facade.resolve(str(started.token))
    assert (resolved.user_id, dict(resolved.session.data)["theme"]) == ("alice", "dark")
    assert [s.handle for s in facade.list_sessions("alice")] == [started.context.session.handle]
