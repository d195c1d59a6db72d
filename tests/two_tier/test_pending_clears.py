"""Outbox rows already applied to Redis are deleted on the side: by the next write transaction,
the relay's tick, health() or closing, never in a transaction of their own per change."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import attrs
import pytest
from sqlalchemy import create_engine, event, func, select

from platform_sessions.adapters.redis import RedisEndpoint
from platform_sessions.adapters.sqlalchemy.outbox import OutboxEntry, OutboxInTransaction
from platform_sessions.adapters.two_tier.mirror_work import DropPlatforms
from platform_sessions.adapters.two_tier.pending_clears import MAX_PENDING, PendingClears
from platform_sessions.domain.errors import StoreUnavailable
from platform_sessions.entrypoints.two_tier_storage import TwoTierStorage
from tests.builders import a_session
from tests.two_tier.wiring import two_tier_storage


@pytest.fixture
def storage(tmp_path, policy, clock) -> Iterator[TwoTierStorage]:
    with two_tier_storage(
        RedisEndpoint.in_process(), f"sqlite:///{tmp_path / 'clears.db'}", policy=policy, clock=clock
    ) as built:
        yield built


def outbox_rows(storage: TwoTierStorage) -> int:
    with storage.database().transaction("look", read_only=True) as tx:
        return tx.outbox.stats().depth


def start(storage: TwoTierStorage, clock, policy, user_id: str = "alice"):  # type: ignore[no-untyped-def]
    session = a_session(user_id=user_id, now=clock.now(), policy=policy)
    storage.user_sessions().create(session, max_sessions=5)
    return session


def transactions_during(storage: TwoTierStorage, operation) -> int:  # type: ignore[no-untyped-def]
    begun: list[object] = []

    def on_begin(connection: object) -> None:
        begun.append(connection)

    event.listen(storage.engine(), "begin", on_begin)
    try:
        operation()
    finally:
        event.remove(storage.engine(), "begin", on_begin)
    return len(begun)


def test_applied_rows_wait_and_the_next_write_deletes_them_in_its_own_transaction(storage, clock, policy):
    assert transactions_during(storage, lambda: start(storage, clock, policy)) == 1
    assert outbox_rows(storage) == 1  # applied to Redis, waiting to be deleted
    assert len(storage.database().pending_clears) == 1
    assert transactions_during(storage, lambda: start(storage, clock, policy, "bob")) == 1
    assert outbox_rows(storage) == 1  # alice's row went with bob's write; bob's waits now


def test_a_write_whose_transaction_fails_gives_the_waiting_rows_back(storage, clock, policy, monkeypatch):
    start(storage, clock, policy)

    def failing(self: OutboxInTransaction, entry_ids: list[int]) -> None:
        raise StoreUnavailable("injected: the database went away before the commit")

    monkeypatch.setattr(OutboxInTransaction, "clear_unless_locked", failing)
    with pytest.raises(StoreUnavailable):
        start(storage, clock, policy, "bob")
    monkeypatch.undo()
    assert len(storage.database().pending_clears) == 1  # alice's row waits again
    storage.database().flush_pending_clears()
    assert outbox_rows(storage) == 0


def test_the_relay_tick_clears_what_waits(storage, clock, policy):
    start(storage, clock, policy)
    storage.maintenance().tick()
    assert outbox_rows(storage) == 0
    assert len(storage.database().pending_clears) == 0


def test_health_counts_only_the_work_redis_is_still_owed(storage, clock, policy):
    start(storage, clock, policy)
    assert outbox_rows(storage) == 1
    assert storage.health().report().outbox_depth == 0
    assert outbox_rows(storage) == 0


def test_with_nothing_waiting_a_flush_sends_nothing(storage):
    assert transactions_during(storage, storage.database().flush_pending_clears) == 0


def test_past_the_limit_the_writer_clears_at_once(storage, clock):
    pending = storage.database().pending_clears
    pending.add(range(10**9, 10**9 + MAX_PENDING))  # as many as may wait (rows long gone)
    one_more = OutboxEntry.for_platforms("alice")
    applied = attrs.evolve(one_more, entry_id=10**9 + MAX_PENDING)

    def mirrored() -> None:
        storage.recorder().after_commit([DropPlatforms("alice")], [applied], clock.now())

    assert transactions_during(storage, mirrored) == 1  # the writer's own, to clear them all
    assert len(pending) == 0


def test_closing_the_storage_clears_what_waits(tmp_path, policy, clock):
    url = f"sqlite:///{tmp_path / 'closing.db'}"
    with two_tier_storage(RedisEndpoint.in_process(), url, policy=policy, clock=clock) as storage:
        start(storage, clock, policy)
        outbox = storage.tables().outbox
        assert outbox_rows(storage) == 1
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(outbox)) == 0
    finally:
        engine.dispose()


def test_the_holder_hands_each_id_to_one_transaction_and_takes_back_what_did_not_commit():
    pending = PendingClears(limit=3)
    assert pending.add([3, 1])
    assert pending.take() == [1, 3]
    assert pending.take() == []
    pending.give_back([1, 3])
    assert not pending.add([4, 5])  # four wait: over the limit
    assert len(pending) == 4


def test_a_write_never_waits_for_rows_a_relay_holds_locked(postgres_url, clean_redis_url, policy, clock):
    with two_tier_storage(
        RedisEndpoint.server(clean_redis_url), postgres_url, policy=policy, clock=clock
    ) as storage:
        alice = start(storage, clock, policy)
        relay_session = storage.database_sessions()()
        relay_session.begin()
        claimed = OutboxInTransaction(relay_session, storage.tables()).claim(10)
        assert len(claimed) == 1  # alice's row, locked as a relay in another process would
        try:
            finished = threading.Event()
            writer = threading.Thread(target=lambda: (start(storage, clock, policy, "bob"), finished.set()))
            writer.start()
            writer.join(10)
            assert finished.is_set()  # SKIP LOCKED: the write did not wait for the relay
        finally:
            relay_session.rollback()  # the relay failed: its row stays
            relay_session.close()
        assert len(storage.database().pending_clears) == 1  # bob's; alice's left to the relay
        assert storage.relay().drain() >= 1  # applies what the database says now: harmless
        assert storage.redis_sessions().get(alice.token_digest) is not None
        assert storage.health().report().outbox_depth == 0
