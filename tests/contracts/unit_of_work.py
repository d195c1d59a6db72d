"""The UnitOfWork contract (with its platform connections' repository)."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest

from platform_sessions.domain.errors import ConcurrentUpdate, PlatformNotFound
from platform_sessions.domain.events import PlatformChange, PlatformConnectionChanged
from platform_sessions.domain.ports import UnitOfWorkFactory
from tests.builders import a_platform

WHEN = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)


def an_event(platform_id: str) -> PlatformConnectionChanged:
    return PlatformConnectionChanged(
        user_id="alice", occurred_at=WHEN, platform_id=platform_id, change=PlatformChange.CONNECTED
    )


class Boom(Exception):
    pass


class UnitOfWorkContract:
    @pytest.fixture
    def uow_factory(self) -> UnitOfWorkFactory:
        raise NotImplementedError

    def test_committed_work_is_visible_to_the_next_unit_of_work(self, uow_factory):
        platform = a_platform(is_default=True, last_used_at=WHEN)
        with uow_factory() as uow:
            uow.platforms.add(platform)
            uow.commit()
        with uow_factory() as uow:
            assert uow.platforms.get(platform.id) == platform

    def test_work_without_commit_is_rolled_back(self, uow_factory):
        platform = a_platform()
        with uow_factory() as uow:
            uow.platforms.add(platform)
            assert uow.platforms.get(platform.id) == platform  # it sees its own write
        with uow_factory() as uow:
            assert uow.platforms.get(platform.id) is None

    def test_an_error_rolls_back(self, uow_factory):
        platform = a_platform()
        with pytest.raises(Boom), uow_factory() as uow:
            uow.platforms.add(platform)
            raise Boom
        with uow_factory() as uow:
            assert uow.platforms.get(platform.id) is None

    def test_an_explicit_rollback_discards_changes_and_events(self, uow_factory):
        platform = a_platform()
        with uow_factory() as uow:
            uow.platforms.add(platform)
            uow.record(an_event(platform.id))
            uow.rollback()
            uow.commit()
            assert uow.collect_new_events() == []
        with uow_factory() as uow:
            assert uow.platforms.get(platform.id) is None

    def test_events_are_handed_out_once_and_only_after_commit(self, uow_factory):
        platform = a_platform()
        event = an_event(platform.id)
        with uow_factory() as uow:
            uow.platforms.add(platform)
            uow.record(event)
            assert uow.collect_new_events() == []
            uow.commit()
        assert uow.collect_new_events() == [event]
        assert uow.collect_new_events() == []

    def test_updates_replace_fields_and_removal_deletes(self, uow_factory):
        platform = a_platform()
        with uow_factory() as uow:
            uow.platforms.add(platform)
            uow.commit()
        renamed = attrs.evolve(platform, name="Renamed", is_active=False)
        with uow_factory() as uow:
            uow.platforms.update(renamed)
            uow.commit()
        with uow_factory() as uow:
            assert uow.platforms.get(platform.id) == renamed
            uow.platforms.remove(platform.id)
            uow.platforms.remove(platform.id)  # removing twice is harmless
            uow.commit()
        with uow_factory() as uow:
            assert uow.platforms.get(platform.id) is None

    def test_updating_a_missing_platform_fails(self, uow_factory):
        with uow_factory() as uow, pytest.raises(PlatformNotFound):
            uow.platforms.update(a_platform())

    def test_last_used_is_stamped(self, uow_factory):
        platform = a_platform()
        with uow_factory() as uow:
            uow.platforms.add(platform)
            uow.commit()
        with uow_factory() as uow:
            uow.platforms.stamp_last_used(platform.id, WHEN)
            uow.platforms.stamp_last_used("no-such-platform", WHEN)  # nothing to stamp: no error
            uow.commit()
        with uow_factory() as uow:
            stored = uow.platforms.get(platform.id)
            assert stored is not None
            assert stored.last_used_at == WHEN

    def test_listing_is_per_user_and_by_name(self, uow_factory):
        b, a = a_platform(name="Beta"), a_platform(name="alpha")
        with uow_factory() as uow:
            uow.platforms.add(b)
            uow.platforms.add(a)
            uow.platforms.add(a_platform(user_id="bob"))
            uow.commit()
        with uow_factory() as uow:
            assert list(uow.platforms.list_for_user("alice")) == [a, b]

    def test_two_defaults_for_one_user_are_refused(self, uow_factory):
        with uow_factory() as uow:
            uow.platforms.add(a_platform(is_default=True))
            uow.commit()
        with pytest.raises(ConcurrentUpdate), uow_factory() as uow:
            uow.platforms.add(a_platform(is_default=True))
            uow.commit()
        with uow_factory() as uow:
            assert len(uow.platforms.list_for_user("alice")) == 1

    def test_a_default_can_move_within_one_unit_of_work(self, uow_factory):
        first, second = a_platform(is_default=True), a_platform()
        with uow_factory() as uow:
            uow.platforms.add(first)
            uow.platforms.add(second)
            uow.commit()
        with uow_factory() as uow:
            uow.platforms.update(attrs.evolve(first, is_default=False))
            uow.platforms.update(attrs.evolve(second, is_default=True))
            uow.commit()
        with uow_factory() as uow:
            assert [p.id for p in uow.platforms.list_for_user("alice") if p.is_default] == [second.id]
