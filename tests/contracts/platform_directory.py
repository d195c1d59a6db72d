"""The PlatformDirectory contract.

A directory reads what the platform connections' unit of work committed (the SQL table, or
the in-memory store), possibly through a cache: subclasses provide ``directory`` and a
``uow_factory`` writing to the store behind it.
"""

from __future__ import annotations

import attrs
import pytest

from platform_sessions.domain.ports import PlatformDirectory, UnitOfWorkFactory
from tests.builders import a_platform


def save(uow_factory: UnitOfWorkFactory, *platforms) -> None:  # type: ignore[no-untyped-def]
    with uow_factory() as uow:
        for platform in platforms:
            if uow.platforms.get(platform.id) is None:
                uow.platforms.add(platform)
            else:
                uow.platforms.update(platform)
        uow.commit()


class PlatformDirectoryContract:
    @pytest.fixture
    def directory(self) -> PlatformDirectory:
        raise NotImplementedError

    @pytest.fixture
    def uow_factory(self) -> UnitOfWorkFactory:
        raise NotImplementedError

    def test_a_users_platform_is_found_by_id(self, directory, uow_factory):
        platform = a_platform(is_default=True)
        save(uow_factory, platform)
        assert directory.get("alice", platform.id) == platform

    def test_another_users_platform_is_not_found(self, directory, uow_factory):
        platform = a_platform(user_id="bob")
        save(uow_factory, platform)
        assert directory.get("alice", platform.id) is None

    def test_an_unknown_platform_is_not_found(self, directory):
        assert directory.get("alice", "no-such-platform") is None

    def test_inactive_platforms_are_found_and_listed_as_such(self, directory, uow_factory):
        platform = a_platform(is_active=False)
        save(uow_factory, platform)
        found = directory.get("alice", platform.id)
        assert found is not None
        assert found.is_active is False
        assert directory.list_for_user("alice") == [platform]

    def test_listing_gives_the_users_platforms_by_name(self, directory, uow_factory):
        b = a_platform(name="Beta")
        a = a_platform(name="alpha")
        save(uow_factory, b, a, a_platform(user_id="bob"))
        assert directory.list_for_user("alice") == [a, b]
        assert directory.list_for_user("nobody") == []

    def test_the_default_is_the_one_marked_default(self, directory, uow_factory):
        plain, default = a_platform(), a_platform(is_default=True)
        save(uow_factory, plain, default)
        assert directory.default_for("alice") == default
        assert directory.default_for("nobody") is None

    def test_after_a_committed_change_and_invalidation_the_directory_is_fresh(self, directory, uow_factory):
        platform = a_platform(is_default=True)
        save(uow_factory, platform)
        assert directory.get("alice", platform.id) == platform  # may fill a cache
        changed = attrs.evolve(platform, name="Renamed", is_active=False, is_default=False)
        save(uow_factory, changed)
        directory.invalidate("alice")
        assert directory.get("alice", platform.id) == changed
        assert directory.default_for("alice") is None
        with uow_factory() as uow:
            uow.platforms.remove(platform.id)
            uow.commit()
        directory.invalidate("alice")
        assert directory.get("alice", platform.id) is None
        assert directory.list_for_user("alice") == []

    def test_invalidating_a_user_with_nothing_cached_is_harmless(self, directory):
        directory.invalidate("nobody")
