"""The UserSessionRepository contract."""

from __future__ import annotations

from datetime import timedelta

import pytest

from platform_sessions.adapters.memory import ManualClock
from platform_sessions.domain.errors import ConcurrentUpdate, SessionNotFound
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import UnitOfWorkFactory, UserSessionRepository
from platform_sessions.domain.routing import issue_token
from platform_sessions.domain.session import SessionChanges, UserSession, new_csrf_token
from tests.builders import ROUTING_KEY, a_session
from tests.contracts.differential import run_random_operations

MANY = 100


class UserSessionRepositoryContract:
    """Subclasses provide ``repository`` built with the ``policy`` fixture, and ``uow_factory``:
    the units of work of the storage the repository belongs to."""

    @pytest.fixture
    def repository(self) -> UserSessionRepository:
        raise NotImplementedError

    @pytest.fixture
    def uow_factory(self) -> UnitOfWorkFactory:
        raise NotImplementedError

    @pytest.fixture
    def new_session(self, clock: ManualClock, policy: SessionPolicy):  # type: ignore[no-untyped-def]
        def build(user_id: str = "alice", **overrides: object) -> UserSession:
            return a_session(user_id=user_id, now=clock.now(), policy=policy, **overrides)

        return build

    def _stored(
        self, repository: UserSessionRepository, session: UserSession, limit: int = MANY
    ) -> UserSession:
        assert repository.create(session, max_sessions=limit) == []
        return session

    # create and get

    def test_a_created_session_is_read_back_field_for_field(self, repository, new_session):
        session = new_session(
            active_platform_id="p1",
            attributes={"name": "Zoë ✓", "roles": ["editor", "admin"], "prefs": {"dark": True, "n": 1.5}},
        )
        self._stored(repository, session)
        assert repository.get(session.token_digest) == session

    def test_an_unknown_digest_is_not_found(self, repository):
        assert repository.get(issue_token(ROUTING_KEY, "nobody").digest) is None

    def test_sessions_of_users_sharing_nothing_are_independent(self, repository, new_session):
        alice, bob = new_session("alice"), new_session("bob")
        self._stored(repository, alice)
        self._stored(repository, bob)
        assert repository.get(alice.token_digest) == alice
        assert repository.get(bob.token_digest) == bob

    # versioned update

    def test_an_update_with_the_version_read_applies_and_counts(self, repository, new_session):
        session = self._stored(repository, new_session(active_platform_id="p1", attributes={"a": 1}))
        updated = repository.update(session, SessionChanges(active_platform_id="p2"))
        assert updated.version == session.version + 1
        assert updated.active_platform_id == "p2"
        assert updated.attributes == {"a": 1}
        assert repository.get(session.token_digest) == updated

    def test_an_update_can_clear_the_platform_and_replace_attributes(self, repository, new_session):
        session = self._stored(repository, new_session(active_platform_id="p1", attributes={"a": 1}))
        updated = repository.update(session, SessionChanges(active_platform_id=None, attributes={"b": [2]}))
        stored = repository.get(session.token_digest)
        assert stored == updated
        assert stored is not None
        assert stored.active_platform_id is None
        assert stored.attributes == {"b": [2]}

    def test_an_update_with_a_stale_version_fails_and_changes_nothing(self, repository, new_session):
        session = self._stored(repository, new_session(active_platform_id="p1"))
        winner = repository.update(session, SessionChanges(active_platform_id="p2"))
        with pytest.raises(ConcurrentUpdate):
            repository.update(session, SessionChanges(active_platform_id="p3"))
        assert repository.get(session.token_digest) == winner

    def test_an_update_of_a_deleted_session_never_recreates_it(self, repository, new_session):
        session = self._stored(repository, new_session())
        assert repository.delete(session)
        with pytest.raises(SessionNotFound):
            repository.update(session, SessionChanges(active_platform_id="p2"))
        assert repository.get(session.token_digest) is None

    # versioned update within a unit of work

    def test_an_update_within_a_unit_of_work_is_stored_once_it_commits(
        self, repository, uow_factory, new_session
    ):
        session = self._stored(repository, new_session(active_platform_id="p1"))
        with uow_factory() as uow:
            updated = repository.update(session, SessionChanges(active_platform_id="p2"), within=uow)
            assert (updated.version, updated.active_platform_id) == (session.version + 1, "p2")
            uow.commit()
        assert repository.get(session.token_digest) == updated

    def test_a_lost_race_within_a_unit_of_work_leaves_it_usable_for_the_retry(
        self, repository, uow_factory, new_session
    ):
        session = self._stored(repository, new_session(active_platform_id="p1"))
        winner = repository.update(session, SessionChanges(attributes={"theme": "dark"}))
        with uow_factory() as uow:
            with pytest.raises(ConcurrentUpdate):
                repository.update(session, SessionChanges(active_platform_id="p2"), within=uow)
            fresh = repository.get(session.token_digest)
            assert fresh == winner
            retried = repository.update(fresh, SessionChanges(active_platform_id="p2"), within=uow)
            uow.commit()
        stored = repository.get(session.token_digest)
        assert stored == retried
        assert (stored.version, stored.active_platform_id, stored.attributes) == (
            session.version + 2,
            "p2",
            {"theme": "dark"},
        )

    def test_an_update_of_a_deleted_session_within_a_unit_of_work_never_recreates_it(
        self, repository, uow_factory, new_session
    ):
        session = self._stored(repository, new_session())
        assert repository.delete(session)
        with uow_factory() as uow:
            with pytest.raises(SessionNotFound):
                repository.update(session, SessionChanges(active_platform_id="p2"), within=uow)
            uow.commit()
        assert repository.get(session.token_digest) is None

    # touch

    def test_a_touch_moves_last_seen_and_keeps_the_version(self, repository, new_session, clock):
        session = self._stored(repository, new_session())
        later = clock.advance(timedelta(minutes=5))
        touched = repository.touch(session, later)
        assert touched is not None
        assert touched.last_seen_at == later
        assert touched.version == session.version
        assert repository.get(session.token_digest) == touched

    def test_a_touch_never_moves_last_seen_backwards(self, repository, new_session, clock):
        session = self._stored(repository, new_session())
        later = clock.advance(timedelta(minutes=5))
        repository.touch(session, later)
        repository.touch(session, later - timedelta(minutes=3))
        stored = repository.get(session.token_digest)
        assert stored is not None
        assert stored.last_seen_at == later

    def test_a_touch_does_not_conflict_with_an_update(self, repository, new_session, clock):
        session = self._stored(repository, new_session())
        repository.touch(session, clock.advance(timedelta(minutes=5)))
        updated = repository.update(session, SessionChanges(active_platform_id="p9"))
        assert updated.active_platform_id == "p9"

    def test_a_touch_of_a_deleted_session_never_recreates_it(self, repository, new_session, clock):
        session = self._stored(repository, new_session())
        repository.delete(session)
        assert repository.touch(session, clock.advance(timedelta(minutes=5))) is None
        assert repository.get(session.token_digest) is None

    # rotate

    def test_a_rotation_moves_the_session_to_the_new_digest(self, repository, new_session):
        session = self._stored(repository, new_session(attributes={"k": "v"}))
        new_digest = issue_token(ROUTING_KEY, session.user_id).digest
        rotated = repository.rotate(session, new_digest, new_csrf_token())
        assert repository.get(session.token_digest) is None
        assert repository.get(new_digest) == rotated
        assert rotated.session_id == session.session_id
        assert rotated.attributes == {"k": "v"}
        assert rotated.version == session.version + 1

    def test_a_rotation_stores_the_new_csrf_token(self, repository, new_session):
        session = self._stored(repository, new_session())
        new_digest, csrf = issue_token(ROUTING_KEY, session.user_id).digest, new_csrf_token()
        rotated = repository.rotate(session, new_digest, csrf)
        assert rotated.csrf_token == csrf != session.csrf_token
        stored = repository.get(new_digest)
        assert stored is not None
        assert stored.csrf_token == csrf
        # and it stays: a later versioned change keeps it
        updated = repository.update(stored, SessionChanges(active_platform_id="p2"))
        assert updated.csrf_token == csrf

    def test_a_rotation_with_a_stale_version_fails(self, repository, new_session):
        session = self._stored(repository, new_session())
        repository.update(session, SessionChanges(active_platform_id="p2"))
        with pytest.raises(ConcurrentUpdate):
            repository.rotate(session, issue_token(ROUTING_KEY, session.user_id).digest, new_csrf_token())

    def test_a_rotation_of_a_deleted_session_never_recreates_it(self, repository, new_session):
        session = self._stored(repository, new_session())
        repository.delete(session)
        new_digest = issue_token(ROUTING_KEY, session.user_id).digest
        with pytest.raises(SessionNotFound):
            repository.rotate(session, new_digest, new_csrf_token())
        assert repository.get(new_digest) is None

    def test_a_rotated_session_is_still_listed_and_deletable(self, repository, new_session, clock):
        session = self._stored(repository, new_session())
        new_digest = issue_token(ROUTING_KEY, session.user_id).digest
        rotated = repository.rotate(session, new_digest, new_csrf_token())
        assert [s.session_id for s in repository.list_for_user("alice", clock.now())] == [session.session_id]
        assert repository.delete(rotated)
        assert repository.list_for_user("alice", clock.now()) == []

    # delete

    def test_delete_says_whether_there_was_something_to_delete(self, repository, new_session):
        session = self._stored(repository, new_session())
        assert repository.delete(session) is True
        assert repository.delete(session) is False
        assert repository.get(session.token_digest) is None

    def test_delete_ends_the_session_under_the_token_a_rotation_gave_it(self, repository, new_session, clock):
        session = self._stored(repository, new_session())
        new_digest = issue_token(ROUTING_KEY, session.user_id).digest
        rotated = repository.rotate(session, new_digest, new_csrf_token())
        assert repository.delete(session) is True  # read before the rotation: the same session
        assert repository.get(session.token_digest) is None
        assert repository.get(new_digest) is None
        assert repository.list_for_user("alice", clock.now()) == []
        assert repository.delete(session) is False
        assert repository.delete(rotated) is False
        with pytest.raises(SessionNotFound):
            repository.update(rotated, SessionChanges(active_platform_id="p2"))
        assert repository.touch(rotated, clock.advance(timedelta(minutes=5))) is None
        assert repository.get(new_digest) is None

    def test_delete_ends_the_session_whatever_rotations_and_updates_came_since(
        self, repository, new_session, clock
    ):
        session = self._stored(repository, new_session())
        others = [self._stored(repository, new_session()) for _ in range(2)]
        current, digests = session, [session.token_digest]
        for _ in range(3):
            current = repository.update(current, SessionChanges(attributes={"v": current.version}))
            current = repository.rotate(
                current, issue_token(ROUTING_KEY, session.user_id).digest, new_csrf_token()
            )
            digests.append(current.token_digest)
        assert repository.delete(session) is True
        assert all(repository.get(digest) is None for digest in digests)
        listed = sorted(s.session_id for s in repository.list_for_user("alice", clock.now()))
        assert listed == sorted(s.session_id for s in others)  # the user's other sessions stay
        assert all(repository.get(s.token_digest) == s for s in others)

    # a read within a unit of work

    def test_a_read_within_a_unit_of_work_sees_every_committed_write(
        self, repository, uow_factory, new_session
    ):
        session = self._stored(repository, new_session(active_platform_id="p1"))
        winner = repository.update(session, SessionChanges(active_platform_id="p2"))
        with uow_factory() as uow:
            assert repository.get(session.token_digest, within=uow) == winner
            mine = repository.update(winner, SessionChanges(active_platform_id="p3"), within=uow)
            assert repository.get(session.token_digest, within=uow) == mine  # and its own
            uow.commit()
        assert repository.get(session.token_digest) == mine

    def test_a_read_within_a_unit_of_work_of_a_deleted_or_rotated_session_finds_nothing(
        self, repository, uow_factory, new_session
    ):
        ended = self._stored(repository, new_session())
        moved = self._stored(repository, new_session())
        repository.delete(ended)
        rotated = repository.rotate(moved, issue_token(ROUTING_KEY, moved.user_id).digest, new_csrf_token())
        with uow_factory() as uow:
            assert repository.get(ended.token_digest, within=uow) is None
            assert repository.get(moved.token_digest, within=uow) is None
            assert repository.get(rotated.token_digest, within=uow) == rotated

    # a user's sessions

    def test_listing_gives_the_users_live_sessions_most_recent_first(self, repository, new_session, clock):
        first = self._stored(repository, new_session())
        clock.advance(timedelta(minutes=1))
        second = self._stored(repository, new_session())
        self._stored(repository, new_session("bob"))
        clock.advance(timedelta(minutes=1))
        repository.touch(first, clock.now())
        listed = repository.list_for_user("alice", clock.now())
        assert [s.session_id for s in listed] == [first.session_id, second.session_id]

    def test_listing_leaves_out_expired_sessions(self, repository, new_session, clock, policy):
        old = self._stored(repository, new_session())
        clock.advance(policy.idle_timeout - timedelta(minutes=1))
        fresh = self._stored(repository, new_session())
        clock.advance(timedelta(minutes=2))
        assert [s.session_id for s in repository.list_for_user("alice", clock.now())] == [fresh.session_id]
        assert old.session_id != fresh.session_id

    def test_deleting_all_of_a_users_sessions_can_keep_one(self, repository, new_session, clock):
        keep = self._stored(repository, new_session())
        others = [self._stored(repository, new_session()) for _ in range(3)]
        bob = self._stored(repository, new_session("bob"))
        ended = repository.delete_all_for_user("alice", keep=keep.session_id)
        assert sorted(s.session_id for s in ended) == sorted(s.session_id for s in others)
        assert [s.session_id for s in repository.list_for_user("alice", clock.now())] == [keep.session_id]
        for other in others:
            assert repository.get(other.token_digest) is None
        assert repository.get(bob.token_digest) == bob

    def test_deleting_all_without_keeping_ends_every_session(self, repository, new_session, clock):
        sessions = [self._stored(repository, new_session()) for _ in range(2)]
        assert len(repository.delete_all_for_user("alice")) == 2
        assert all(repository.get(s.token_digest) is None for s in sessions)
        assert repository.delete_all_for_user("alice") == []

    # the per-user limit

    def test_creating_past_the_limit_evicts_the_least_recently_seen(self, repository, new_session, clock):
        oldest = self._stored(repository, new_session(), limit=3)
        clock.advance(timedelta(minutes=1))
        middle = self._stored(repository, new_session(), limit=3)
        clock.advance(timedelta(minutes=1))
        newest = self._stored(repository, new_session(), limit=3)
        clock.advance(timedelta(minutes=1))
        repository.touch(oldest, clock.now())  # now the middle one is the least recently seen
        extra = new_session()
        evicted = repository.create(extra, max_sessions=3)
        assert [s.session_id for s in evicted] == [middle.session_id]
        assert repository.get(middle.token_digest) is None
        live = {s.session_id for s in repository.list_for_user("alice", clock.now())}
        assert live == {oldest.session_id, newest.session_id, extra.session_id}

    def test_expired_sessions_do_not_count_towards_the_limit(self, repository, new_session, clock, policy):
        self._stored(repository, new_session(), limit=2)
        clock.advance(policy.idle_timeout + timedelta(minutes=1))
        self._stored(repository, new_session(), limit=2)
        assert repository.create(new_session(), max_sessions=2) == []

    # purge

    def test_purge_deletes_expired_sessions_in_batches_and_keeps_live_ones(
        self, repository, new_session, clock, policy
    ):
        expired = [self._stored(repository, new_session(f"user{i}")) for i in range(5)]
        clock.advance(policy.idle_timeout + timedelta(minutes=1))
        live = self._stored(repository, new_session("carol"))
        purged = repository.purge_expired(clock.now(), batch_size=2)
        assert purged in (0, 5)  # a store with TTLs may have let them go already
        assert repository.get(live.token_digest) == live
        assert all(repository.get(s.token_digest) is None or purged == 0 for s in expired)
        assert repository.purge_expired(clock.now(), batch_size=2) == 0

    # everything at once

    def test_random_operations_answer_exactly_as_the_fake_does(self, repository, clock, policy):
        assert run_random_operations(repository, clock, policy, steps=200, seed=20261125) == 200
