"""The SessionContextQuery contract: one load gives the session and its platforms."""

from __future__ import annotations

from datetime import timedelta

import pytest

from platform_sessions.domain.ports import SessionContextQuery, UnitOfWorkFactory, UserSessionRepository
from platform_sessions.domain.routing import issue_token
from tests.builders import ROUTING_KEY, a_platform, a_session
from tests.contracts.platform_directory import save


class SessionContextQueryContract:
    """Subclasses provide ``query`` over ``repository`` and the store behind ``uow_factory``."""

    @pytest.fixture
    def repository(self) -> UserSessionRepository:
        raise NotImplementedError

    @pytest.fixture
    def uow_factory(self) -> UnitOfWorkFactory:
        raise NotImplementedError

    @pytest.fixture
    def query(self) -> SessionContextQuery:
        raise NotImplementedError

    @pytest.fixture
    def platforms(self, uow_factory):  # type: ignore[no-untyped-def]
        default, other, foreign = a_platform(is_default=True), a_platform(), a_platform(user_id="bob")
        save(uow_factory, default, other, foreign)
        return default, other, foreign

    def _store(self, repository, clock, policy, **fields):  # type: ignore[no-untyped-def]
        session = a_session(now=clock.now(), policy=policy, **fields)
        repository.create(session, max_sessions=100)
        return session

    def test_an_unknown_token_loads_nothing(self, query, clock):
        assert query.load(issue_token(ROUTING_KEY, "alice").digest, now=clock.now()) is None

    def test_a_session_loads_with_its_active_and_default_platforms(
        self, query, repository, clock, policy, platforms
    ):
        default, other, _ = platforms
        session = self._store(repository, clock, policy, active_platform_id=other.id)
        snapshot = query.load(session.token_digest, now=clock.now())
        assert snapshot is not None
        assert snapshot.session == session
        assert snapshot.active_platform == other
        assert snapshot.default_platform == default
        assert snapshot.requested_platform is None

    def test_a_requested_platform_is_loaded_owner_checked(self, query, repository, clock, policy, platforms):
        default, other, foreign = platforms
        session = self._store(repository, clock, policy, active_platform_id=default.id)
        mine = query.load(session.token_digest, now=clock.now(), requested_platform_id=other.id)
        theirs = query.load(session.token_digest, now=clock.now(), requested_platform_id=foreign.id)
        assert mine is not None
        assert mine.requested_platform == other
        assert theirs is not None
        assert theirs.requested_platform is None

    def test_a_foreign_or_removed_active_platform_loads_as_none(
        self, query, repository, clock, policy, platforms
    ):
        _, _, foreign = platforms
        session = self._store(repository, clock, policy, active_platform_id=foreign.id)
        snapshot = query.load(session.token_digest, now=clock.now())
        assert snapshot is not None
        assert snapshot.active_platform is None

    def test_no_touch_inside_the_touch_interval(self, query, repository, clock, policy, platforms):
        session = self._store(repository, clock, policy)
        clock.advance(policy.touch_interval - timedelta(seconds=1))
        snapshot = query.load(session.token_digest, now=clock.now())
        assert snapshot is not None
        assert snapshot.session.last_seen_at == session.last_seen_at
        assert repository.get(session.token_digest) == session

    def test_a_touch_once_the_interval_passed(self, query, repository, clock, policy, platforms):
        session = self._store(repository, clock, policy)
        now = clock.advance(policy.touch_interval)
        snapshot = query.load(session.token_digest, now=now)
        assert snapshot is not None
        assert snapshot.session.last_seen_at == now
        assert snapshot.session.version == session.version
        stored = repository.get(session.token_digest)
        assert stored is not None
        assert stored.last_seen_at == now

    def test_an_expired_session_is_returned_untouched(self, query, repository, clock, policy, platforms):
        session = self._store(repository, clock, policy)
        now = clock.advance(policy.idle_timeout + timedelta(seconds=1))
        snapshot = query.load(session.token_digest, now=now)
        # A store with real TTLs may already have dropped it; if not, it must not be touched.
        if snapshot is not None:
            assert snapshot.session.last_seen_at == session.last_seen_at
        stored = repository.get(session.token_digest)
        assert stored is None or stored.last_seen_at == session.last_seen_at
