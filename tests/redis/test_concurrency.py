"""Concurrent writers on the real servers: nothing lost, nothing resurrected.

Threads are bounded (fixed counts, a barrier with a timeout, futures awaited with a timeout).
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from platform_sessions.adapters.redis import RedisKeys, RedisUserSessionRepository
from platform_sessions.domain.errors import ConcurrentUpdate, SessionNotFound
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.session import SessionChanges, UserSession
from platform_sessions.entrypoints import bootstrap
from tests.builders import ROUTING_KEY, a_session
from tests.redis.legs import TEST_OPTIONS

SWITCHERS, SWITCHES_EACH = 6, 25
TOUCHERS, TOUCHES_EACH = 3, 40
PLATFORMS = [f"platform-{n}" for n in range(5)]
RACE_ROUNDS = 15
LOOPS_UNTIL_GONE = 200
WAIT_S = 60


@pytest.fixture
def repository(real_redis_client, policy):
    return RedisUserSessionRepository(real_redis_client, RedisKeys(ROUTING_KEY), policy)


def _run_together(*jobs) -> list:  # type: ignore[no-untyped-def]
    """Start every job at the same moment and return their results (re-raising their errors)."""
    barrier = threading.Barrier(len(jobs), timeout=WAIT_S)

    def start(job):  # type: ignore[no-untyped-def]
        barrier.wait()
        return job()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = [pool.submit(start, job) for job in jobs]
        return [future.result(timeout=WAIT_S) for future in futures]


def test_switches_and_touches_at_once_lose_nothing(repository, clock, policy):
    session = a_session(
        now=clock.now(), policy=policy, active_platform_id=PLATFORMS[0], attributes={"k": "v"}
    )
    repository.create(session, max_sessions=10)
    base = clock.now()

    def switcher(seed: int) -> list[tuple[int, str]]:
        chooser = random.Random(seed)
        won: list[tuple[int, str]] = []
        for _ in range(SWITCHES_EACH):
            current = repository.get(session.token_digest)
            assert current is not None
            target = chooser.choice([p for p in PLATFORMS if p != current.active_platform_id])
            try:
                stored = repository.update(current, SessionChanges(active_platform_id=target))
            except ConcurrentUpdate:
                continue
            won.append((stored.version, target))
        return won

    def toucher(offset: int) -> timedelta:
        latest = timedelta(0)
        for i in range(TOUCHES_EACH):
            # Interleaved moments, some earlier than others already written: never backwards.
            moment = timedelta(milliseconds=i * 10 + offset)
            assert repository.touch(session, base + moment) is not None
            latest = max(latest, moment)
        return latest

    results = _run_together(
        *(lambda seed=seed: switcher(seed) for seed in range(SWITCHERS)),
        *(lambda offset=offset: toucher(offset) for offset in range(TOUCHERS)),
    )
    wins = [win for result in results[:SWITCHERS] for win in result]
    stored = repository.get(session.token_digest)
    assert stored is not None
    # Every successful write moved the version by exactly one, each from the one before it.
    assert sorted(version for version, _ in wins) == list(range(2, len(wins) + 2))
    assert stored.version == session.version + len(wins)
    assert stored.active_platform_id == max(wins)[1]  # the last write won, as it should
    assert stored.active_platform_id in PLATFORMS
    assert stored.last_seen_at == base + max(results[SWITCHERS:])  # no touch lost
    assert stored.attributes == {"k": "v"}
    assert len(wins) >= SWITCHES_EACH  # some progress despite the contention


def test_a_delete_racing_touches_and_updates_leaves_the_session_gone(
    repository, real_redis_client, clock, policy
):
    keys = RedisKeys(ROUTING_KEY)
    for round_number in range(RACE_ROUNDS):
        session = a_session(now=clock.now(), policy=policy)
        repository.create(session, max_sessions=100)

        def deleter(session: UserSession = session, round_number: int = round_number) -> bool:
            if round_number % 2:
                threading.Event().wait(0.001 * (round_number % 5))
            return repository.delete(session)

        def toucher(session: UserSession = session) -> None:
            for i in range(LOOPS_UNTIL_GONE):
                if repository.touch(session, clock.now() + timedelta(milliseconds=i)) is None:
                    return

        def updater(session: UserSession = session) -> None:
            current: UserSession | None = session
            for _ in range(LOOPS_UNTIL_GONE):
                if current is None:
                    return
                try:
                    current = repository.update(current, SessionChanges(attributes={"n": current.version}))
                except ConcurrentUpdate:
                    current = repository.get(session.token_digest)
                except SessionNotFound:
                    return

        deleted, *_ = _run_together(deleter, toucher, toucher, updater, updater)
        assert deleted is True
        assert repository.get(session.token_digest) is None
        assert real_redis_client.exists(keys.session(session.token_digest)) == 0
        assert (
            real_redis_client.zscore(keys.index_for(session.logged_in_user_id), session.token_digest.hex)
            is None
        )
    assert repository.list_for_user("alice", clock.now()) == []


@pytest.fixture(params=["server", "cluster"])
def real_redis_location(request: pytest.FixtureRequest) -> dict[str, object]:
    """bootstrap's arguments for each real leg."""
    if request.param == "server":
        return {"redis_url": request.getfixturevalue("clean_redis_url")}
    return {"redis_cluster_nodes": request.getfixturevalue("clean_redis_cluster_nodes")}


def test_switching_through_the_facade_from_many_threads_counts_every_change(real_redis_location):
    # The system clock and a touch on every resolve: resolves write while switches do.
    touchy = SessionPolicy(touch_interval=timedelta(microseconds=1))
    with bootstrap(
        policy=touchy, routing_key=ROUTING_KEY, redis_options=TEST_OPTIONS, **real_redis_location
    ) as sessions:
        platforms = [
            sessions.connect_platform(
                "carol",
                name=f"Account {n}",
                platform_type="mastodon",
                instance_url=f"https://{n}.example",
                username="c",
            )
            for n in range(4)
        ]
        token = str(sessions.start_session("carol").token)
        first_seen = sessions.resolve(token).session.last_seen_at

        def switcher(seed: int) -> int:
            chooser, changed = random.Random(seed), 0
            for _ in range(SWITCHES_EACH):
                try:
                    changed += sessions.switch_platform(token, chooser.choice(platforms).id).changed
                except ConcurrentUpdate:
                    continue  # three lost races in a row: reported, nothing half-done
            return changed

        def resolver() -> None:
            for _ in range(TOUCHES_EACH):
                sessions.resolve(token)

        results = _run_together(
            *(lambda seed=seed: switcher(seed) for seed in range(SWITCHERS)),
            *(resolver for _ in range(TOUCHERS)),
        )
        final = sessions.resolve(token)
    assert final.session.version == 1 + sum(results[:SWITCHERS])
    assert final.platform_id in {p.id for p in platforms}
    assert final.session.last_seen_at > first_seen
