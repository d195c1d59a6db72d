"""An update ``within`` the caller's SQL unit of work: the session row and its outbox rows commit
with the caller's transaction, Redis hears of it only after that commit, and a switch costs one
database transaction."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import event

from platform_sessions.adapters.redis import RedisEndpoint
from platform_sessions.adapters.sqlalchemy import SqlAlchemyUnitOfWork, database_session_factory
from platform_sessions.domain.errors import ConcurrentUpdate
from platform_sessions.domain.session import SessionChanges, UserSession
from platform_sessions.entrypoints.two_tier_storage import TwoTierStorage
from tests.builders import a_session
from tests.two_tier.wiring import leg_storage, two_tier_sessions

JOINING_LEGS = ("fakeredis+sqlite", "redis+postgresql")


@pytest.fixture(params=JOINING_LEGS)
def storage(request: pytest.FixtureRequest, tmp_path, policy, clock) -> Iterator[TwoTierStorage]:
    yield from leg_storage(request, request.param, tmp_path, policy, clock)


def stored_session(storage: TwoTierStorage, clock, policy) -> UserSession:
    session = a_session(now=clock.now(), policy=policy, active_platform_id="p1")
    storage.user_sessions().create(session, max_sessions=5)
    return session


def in_database(storage: TwoTierStorage, session: UserSession) -> UserSession:
    with storage.database().transaction("look", read_only=True) as tx:
        found = tx.user_sessions.get(session.token_digest)
    assert found is not None
    return found


def in_redis(storage: TwoTierStorage, session: UserSession) -> UserSession:
    found = storage.redis_sessions().get(session.token_digest)
    assert found is not None
    return found


def outbox_rows(storage: TwoTierStorage) -> int:
    with storage.database().transaction("look", read_only=True) as tx:
        return tx.outbox.stats().depth


def test_a_joined_update_commits_with_the_unit_of_work_and_then_mirrors_to_redis(storage, clock, policy):
    session = stored_session(storage, clock, policy)
    with storage.uow_factory() as uow:
        updated = storage.user_sessions().update(session, SessionChanges(active_platform_id="p2"), within=uow)
        assert in_redis(storage, session).version == session.version  # Redis waits for the commit
        uow.commit()
    mirrored = in_redis(storage, session)
    assert mirrored is not None
    assert (mirrored.version, mirrored.active_platform_id) == (updated.version, "p2")
    assert in_database(storage, session).version == updated.version
    assert storage.health().report().outbox_depth == 0  # nothing owed: the rows only waited


def test_a_joined_update_whose_unit_of_work_rolls_back_changes_nothing_anywhere(storage, clock, policy):
    session = stored_session(storage, clock, policy)
    waiting = len(storage.database().pending_clears)  # the creation's row, applied already
    assert waiting == 1
    with storage.uow_factory() as uow:
        storage.user_sessions().update(session, SessionChanges(active_platform_id="p2"), within=uow)
        # leaving without commit() rolls back
    assert in_database(storage, session).version == session.version
    assert in_redis(storage, session).version == session.version
    assert len(storage.database().pending_clears) == waiting  # taken by the update, given back
    assert outbox_rows(storage) == 1  # the creation's row, not deleted; the update left none
    storage.database().flush_pending_clears()
    assert outbox_rows(storage) == 0


def test_a_lost_race_in_a_joined_update_repairs_redis_and_leaves_the_unit_of_work_usable(
    storage, clock, policy
):
    session = stored_session(storage, clock, policy)
    with storage.database().transaction("a writer Redis never heard of") as tx:
        winner = tx.user_sessions.update(session, SessionChanges(attributes={"theme": "dark"}))
    assert in_redis(storage, session).version == session.version  # Redis is behind
    repository = storage.user_sessions()
    with storage.uow_factory() as uow:
        with pytest.raises(ConcurrentUpdate):
            repository.update(session, SessionChanges(active_platform_id="p2"), within=uow)
        assert in_redis(storage, session).version == winner.version  # repaired for the re-read
        fresh = repository.get(session.token_digest)
        retried = repository.update(fresh, SessionChanges(active_platform_id="p2"), within=uow)
        uow.commit()
    mirrored = in_redis(storage, session)
    assert (mirrored.version, mirrored.active_platform_id, mirrored.attributes) == (
        retried.version,
        "p2",
        {"theme": "dark"},
    )
    assert storage.metrics().snapshot()["version_conflicts"] == 1


def test_a_lost_race_on_a_row_the_unit_of_work_changed_itself_never_shows_it_in_redis(storage, clock, policy):
    session = stored_session(storage, clock, policy)
    repository = storage.user_sessions()
    with storage.uow_factory() as uow:
        repository.update(session, SessionChanges(active_platform_id="p2"), within=uow)
        with pytest.raises(ConcurrentUpdate):  # the same stale version again, in the same unit
            repository.update(session, SessionChanges(active_platform_id="p3"), within=uow)
        # The row now reads as this transaction's own change, not committed: no repair from it.
        assert in_redis(storage, session).version == session.version
        # leaving without commit() rolls back
    assert in_redis(storage, session).version == session.version
    assert in_database(storage, session).version == session.version
    assert storage.metrics().snapshot()["version_conflicts"] == 1


def test_a_unit_of_work_on_another_sessionmaker_is_not_joined(storage, clock, policy):
    session = stored_session(storage, clock, policy)
    elsewhere = SqlAlchemyUnitOfWork(database_session_factory(storage.engine()), storage.tables())
    with elsewhere as uow:
        updated = storage.user_sessions().update(session, SessionChanges(active_platform_id="p2"), within=uow)
        assert in_redis(storage, session).version == updated.version  # made at once
    assert in_database(storage, session).version == updated.version  # though never committed


def test_a_switch_through_the_facade_is_one_database_transaction(tmp_path, policy, clock):
    with two_tier_sessions(
        RedisEndpoint.in_process(),
        f"sqlite:///{tmp_path / 'switch.db'}",
        policy=policy,
        clock=clock,
    ) as (sessions, storage):
        for name in ("Mastodon", "Pixelfed"):
            sessions.connect_platform(
                "alice", name=name, platform_type=name.lower(), instance_url="https://x.example", username="a"
            )
        first, second = sessions.list_platforms("alice")
        context = sessions.resolve(str(sessions.start_session("alice").token))  # fills the platform cache
        target = second if context.platform_id == first.id else first
        begun: list[object] = []

        def on_begin(connection: object) -> None:
            begun.append(connection)

        event.listen(storage.engine(), "begin", on_begin)
        outcome = sessions.switch_platform(context, target.id)
        event.remove(storage.engine(), "begin", on_begin)
        assert outcome.changed
        assert len(begun) == 1  # the session, its outbox row and the platform's stamp together
        stamped = {p.id: p.last_used_at for p in sessions.list_platforms("alice")}
        assert stamped[target.id] == clock.now()
        assert in_redis(storage, context.session).active_platform_id == target.id
