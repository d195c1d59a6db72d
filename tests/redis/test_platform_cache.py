"""The platform cache: read-through, authoritative once filled, race-free to invalidate."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta

import attrs

from platform_sessions.adapters.memory import InMemoryPlatformDirectory
from platform_sessions.adapters.redis import RedisPlatformCache, RedisPlatformDirectory
from platform_sessions.adapters.redis.user_platforms import UserPlatforms
from platform_sessions.domain.ids import PlatformId, UserId
from platform_sessions.domain.platform import PlatformConnection
from platform_sessions.domain.ports import PlatformDirectory
from tests.builders import a_platform
from tests.contracts.platform_directory import save
from tests.redis.conftest import CACHE_TTL


class CountingDirectory(PlatformDirectory):
    """A backing directory that counts how often it is read."""

    def __init__(self, inner: PlatformDirectory) -> None:
        self.inner = inner
        self.reads = 0

    def get(self, user_id: UserId, platform_id: PlatformId) -> PlatformConnection | None:
        self.reads += 1
        return self.inner.get(user_id, platform_id)

    def list_for_user(self, user_id: UserId) -> Sequence[PlatformConnection]:
        self.reads += 1
        return self.inner.list_for_user(user_id)

    def default_for(self, user_id: UserId) -> PlatformConnection | None:
        self.reads += 1
        return self.inner.default_for(user_id)

    def invalidate(self, user_id: UserId) -> None:
        return None


def test_once_filled_every_answer_is_a_hit_not_found_included(
    cache: RedisPlatformCache, backing_directory: InMemoryPlatformDirectory, uow_factory
):
    backing = CountingDirectory(backing_directory)
    directory = RedisPlatformDirectory(cache, backing)
    mine, theirs = a_platform(is_default=True), a_platform(user_id="bob")
    save(uow_factory, mine, theirs)
    assert directory.get("alice", mine.id) == mine
    assert directory.get("alice", theirs.id) is None
    assert directory.get("alice", "no-such-platform") is None
    assert directory.default_for("alice") == mine
    assert backing.reads == 1  # one list read filled the whole entry


def test_a_fill_that_raced_an_invalidation_is_refused(cache, directory, uow_factory):
    platform = a_platform(is_default=True)
    save(uow_factory, platform)
    missed = cache.read("alice", platform.id)
    assert not missed.hit
    stale = UserPlatforms.from_list([platform])  # what a slow reader read from the database
    renamed = attrs.evolve(platform, name="Renamed")
    save(uow_factory, renamed)
    directory.invalidate("alice")  # the writer commits and invalidates meanwhile
    assert cache.fill("alice", missed.generation, stale) is False
    assert directory.get("alice", platform.id) == renamed


def test_the_cache_holds_display_fields_only_and_no_user_id(world, uow_factory):
    platform = a_platform(user_id="alice@example.com", is_default=True)
    save(uow_factory, platform)
    assert world.directory.get("alice@example.com", platform.id) == platform
    cache_key = world.keys.platform_cache(world.keys.tag_for("alice@example.com"))
    stored = {field.decode(): value.decode() for field, value in world.client.hgetall(cache_key).items()}
    label = world.keys.label_for("alice@example.com")
    assert set(stored) == {f"{label}:filled", f"{label}:default", f"{label}:p:{platform.id}"}
    record = json.loads(stored[f"{label}:p:{platform.id}"])
    assert set(record) == {
        "schema",
        "id",
        "name",
        "platform_type",
        "instance_url",
        "username",
        "is_active",
        "is_default",
        "last_used_at_us",
    }
    assert "alice@example.com" not in json.dumps(stored)
    ttl = timedelta(milliseconds=world.client.pttl(cache_key))
    assert CACHE_TTL - timedelta(seconds=5) <= ttl <= CACHE_TTL


def test_listing_reads_the_backing_directory_so_it_shows_the_latest_use(directory, uow_factory, clock):
    platform = a_platform(is_default=True)
    save(uow_factory, platform)
    assert directory.get("alice", platform.id) == platform  # cached before the stamp
    with uow_factory() as uow:
        uow.platforms.stamp_last_used(platform.id, clock.now())
        uow.commit()
    assert directory.list_for_user("alice")[0].last_used_at == clock.now()


def test_invalidating_forgets_the_entry_and_bumps_the_generation(cache, directory, uow_factory):
    save(uow_factory, a_platform(is_default=True))
    directory.default_for("alice")
    before = cache.read("alice", None)
    directory.invalidate("alice")
    after = cache.read("alice", None)
    assert before.hit
    assert not after.hit
    assert after.generation != before.generation
