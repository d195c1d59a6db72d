"""Two-tier storages for tests: the production container, on chosen Redis and database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from platform_sessions.adapters.redis import RedisEndpoint, RedisOptions
from platform_sessions.adapters.two_tier import TwoTierSettings
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import Clock
from platform_sessions.entrypoints.container import Container
from platform_sessions.entrypoints.two_tier_storage import (
    TwoTierStorage,
    close_two_tier_storage,
    plug_two_tier_storage,
    start_relay,
)
from tests.builders import ROUTING_KEY
from tests.sql.databases import drop_tables, unique_prefix

LEGS = ("fakeredis+sqlite", "redis+postgresql", "cluster+sqlite")

MANUAL = TwoTierSettings(run_relay=False, auto_rewarm=False)


@contextmanager
def two_tier_storage(
    endpoint: RedisEndpoint,
    database_url: str,
    *,
    policy: SessionPolicy,
    clock: Clock | None = None,
    settings: TwoTierSettings = MANUAL,
    options: RedisOptions | None = None,
    customize: Callable[[TwoTierStorage], None] | None = None,
    container: Container | None = None,
) -> Iterator[TwoTierStorage]:
    """A migrated two-tier storage under a fresh table prefix; tables dropped afterwards."""
    container = container or Container(policy=policy, routing_key=ROUTING_KEY)
    if clock is not None:
        container.clock.override(clock)
    storage = plug_two_tier_storage(
        container,
        endpoint=endpoint,
        database_url=database_url,
        options=options,
        table_prefix=unique_prefix(),
        migrate=True,
        settings=settings,
        customize=customize,
    )
    stop_relay = start_relay(storage)
    try:
        yield storage
    finally:
        stop_relay()
        close_two_tier_storage(storage)  # it still writes (clears applied outbox rows): tables first
        if not database_url.startswith("sqlite"):
            drop_tables(storage.engine(), storage.tables())
            storage.engine().dispose()


def leg_storage(
    request: pytest.FixtureRequest, leg: str, tmp_path: Path, policy: SessionPolicy, clock: Clock
) -> Iterator[TwoTierStorage]:
    """Body of a parametrized fixture: the storage of ``leg``."""
    if leg == "fakeredis+sqlite":
        endpoint, url = RedisEndpoint.in_process(), f"sqlite:///{tmp_path / 'two-tier.db'}"
    elif leg == "cluster+sqlite":
        endpoint = RedisEndpoint.cluster(request.getfixturevalue("clean_redis_cluster_nodes"))
        url = f"sqlite:///{tmp_path / 'two-tier.db'}"
    else:
        endpoint = RedisEndpoint.server(request.getfixturevalue("clean_redis_url"))
        url = request.getfixturevalue("postgres_url")
    with two_tier_storage(endpoint, url, policy=policy, clock=clock) as storage:
        yield storage
