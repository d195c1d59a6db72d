"""The scripts load everywhere; the storage container wires Redis in front of pluggable records."""

from __future__ import annotations

import pytest
from dependency_injector import providers

from platform_sessions.adapters.memory import InMemoryUnitOfWork
from platform_sessions.adapters.redis import RedisEndpoint
from platform_sessions.adapters.redis.scripts import script_names, script_source
from platform_sessions.entrypoints.memory_storage import MemoryStorage
from platform_sessions.entrypoints.redis_storage import RedisStorage
from tests.builders import ROUTING_KEY, a_platform


def test_every_script_compiles_on_every_leg(redis_client):
    for name in script_names():
        sha = redis_client.script_load(script_source(name))
        assert len(sha) == 40, name


def test_an_unknown_script_is_a_programming_error():
    with pytest.raises(KeyError):
        script_source("drop_everything")


def test_the_platform_records_behind_the_cache_are_pluggable(policy):
    storage = RedisStorage(policy=policy, routing_key=ROUTING_KEY, endpoint=RedisEndpoint.in_process())
    records = MemoryStorage(policy=providers.Object(policy))
    storage.platform_records.override(records)
    platform = a_platform(is_default=True)
    with storage.uow_factory() as uow:
        assert isinstance(uow, InMemoryUnitOfWork)
        uow.platforms.add(platform)
        uow.commit()
    assert records.platform_store().rows()[platform.id] == platform  # written to the plugged records
    assert storage.platform_directory().get("alice", platform.id) == platform  # read through the cache
    storage.client().close()
