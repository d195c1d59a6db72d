"""Two-tier storages for tests: the production builder, on chosen Redis and database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from platform_sessions.adapters.redis import RedisEndpoint, RedisOptions
from platform_sessions.adapters.sqlalchemy import create_sql_engine
from platform_sessions.adapters.two_tier import TwoTierSettings
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import Clock
from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.redis_storage import RedisStorageBuilder
from platform_sessions.entrypoints.sql_storage import SqlStorageBuilder
from platform_sessions.entrypoints.two_tier_storage import TwoTierStorage, TwoTierStorageBuilder
from tests.builders import a_wiring, sessions_on
from tests.sql.databases import drop_tables, unique_prefix

LEGS = ("fakeredis+sqlite", "redis+postgresql", "cluster+sqlite")

MANUAL = TwoTierSettings(run_relay=False, auto_rewarm=False)


@contextmanager
def two_tier_sessions(
    endpoint: RedisEndpoint,
    database_url: str,
    *,
    policy: SessionPolicy,
    clock: Clock | None = None,
    settings: TwoTierSettings = MANUAL,
    options: RedisOptions | None = None,
    customize: Callable[[TwoTierStorage], None] | None = None,
    table_prefix: str | None = None,
    migrate: bool = True,
    drop: bool | None = None,
) -> Iterator[tuple[PlatformSessions, TwoTierStorage]]:
    """The facade on a two-tier storage and its container (``customize`` overrides providers
    first), under a fresh table prefix unless given; by default, tables it migrated on a
    database server are dropped afterwards."""
    builder = TwoTierStorageBuilder(
        redis=RedisStorageBuilder(endpoint=endpoint, options=options or RedisOptions()),
        sql=SqlStorageBuilder(
            database_url=database_url, table_prefix=table_prefix or unique_prefix(), migrate=migrate
        ),
        settings=settings,
    )
    wiring = a_wiring(policy=policy, clock=clock)
    container = builder.container(wiring)
    if customize is not None:
        customize(container)
    opened = builder.open(wiring, container=container)
    try:
        yield sessions_on(opened, policy=policy), container
    finally:
        opened.close()  # it still writes (clears applied outbox rows): tables after
        if drop if drop is not None else migrate and not database_url.startswith("sqlite"):
            engine = create_sql_engine(database_url)
            try:
                drop_tables(engine, container.tables())
            finally:
                engine.dispose()


@contextmanager
def two_tier_storage(endpoint: RedisEndpoint, database_url: str, **options: Any) -> Iterator[TwoTierStorage]:
    """The container of :func:`two_tier_sessions` (the same options), for tests that use
    its providers rather than the facade."""
    with two_tier_sessions(endpoint, database_url, **options) as (_, storage):
        yield storage


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
