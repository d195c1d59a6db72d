"""Concurrent writers on real databases: versioned updates, the per-user limit, a busy pool."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.pool import Pool

from platform_sessions.adapters.sqlalchemy import (
    DatabaseTimeouts,
    SqlEngineSettings,
)
from platform_sessions.domain.errors import ConcurrentUpdate
from platform_sessions.domain.session import SessionChanges
from platform_sessions.entrypoints import bootstrap
from tests.builders import a_session
from tests.sql.databases import SqlDatabase, drop_tables, unique_prefix
from tests.sql.threads import run_at_once

RACES = 20


def test_of_two_writers_with_the_same_version_exactly_one_wins(repository, clock, policy):
    for race in range(RACES):
        session = a_session(user_id=f"racer{race}", now=clock.now(), policy=policy)
        repository.create(session, max_sessions=5)

        def write(index: int, read=session):  # type: ignore[no-untyped-def]
            return repository.update(read, SessionChanges(active_platform_id=f"p{index}"))

        outcomes = run_at_once(2, write)
        winners = [o for o in outcomes if not isinstance(o, BaseException)]
        losers = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(winners) == 1, outcomes
        assert len(losers) == 1
        assert isinstance(losers[0], ConcurrentUpdate), losers
        stored = repository.get(session.token_digest)
        assert stored == winners[0]
        assert stored is not None
        assert stored.version == session.version + 1


def test_concurrent_logins_of_one_user_never_exceed_the_limit(repository, clock, policy):
    limit, logins = 3, 12
    for round_ in range(3):
        user = f"busy{round_}"
        created = [a_session(user_id=user, now=clock.now(), policy=policy) for _ in range(logins)]
        outcomes = run_at_once(logins, lambda i, c=created: repository.create(c[i], max_sessions=limit))  # type: ignore[misc]
        assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
        evicted = [s.session_id for batch in outcomes for s in batch]
        live = {s.session_id for s in repository.list_for_user(user, clock.now())}
        assert len(live) == limit
        assert len(evicted) == len(set(evicted)) == logins - limit  # each evicted once, by one login
        assert live.isdisjoint(evicted)
        assert live | set(evicted) == {s.session_id for s in created}


@dataclass
class PoolUse:
    checkouts: int = 0
    checkins: int = 0
    peak: int = 0


@contextmanager
def every_pool_observed() -> Iterator[PoolUse]:
    """Counts checkouts and checkins of every pool in the process (bootstrap hides its engine)."""
    use, lock = PoolUse(), threading.Lock()

    def on_checkout(*_: object) -> None:
        with lock:
            use.checkouts += 1
            use.peak = max(use.peak, use.checkouts - use.checkins)

    def on_checkin(*_: object) -> None:
        with lock:
            use.checkins += 1

    event.listen(Pool, "checkout", on_checkout)
    event.listen(Pool, "checkin", on_checkin)
    try:
        yield use
    finally:
        event.remove(Pool, "checkout", on_checkout)
        event.remove(Pool, "checkin", on_checkin)


THREADS, SWITCHES_EACH, USERS = 50, 6, 5
# The sizes the original application ran out of: QueuePool limit of size 5 overflow 10.
ORIGINAL_POOL = SqlEngineSettings(pool_size=5, max_overflow=10, timeouts=DatabaseTimeouts(pool_checkout_s=30))


def test_fifty_threads_switching_at_once_never_exhaust_the_pool(sql_database: SqlDatabase):
    prefix = unique_prefix()
    facade = bootstrap(
        database_url=sql_database.url, table_prefix=prefix, migrate=True, sql_engine=ORIGINAL_POOL
    )
    try:
        platforms = {
            f"user{u}": [
                facade.connect_platform(
                    f"user{u}", name=name, platform_type=name.lower(), instance_url=f"https://{name}.example",
                    username=f"user{u}",
                ).id
                for name in ("Mastodon", "Pixelfed")
            ]
            for u in range(USERS)
        }  # fmt: skip
        tokens = [str(facade.start_session(f"user{i % USERS}").token) for i in range(THREADS)]

        def switch_back_and_forth(index: int) -> int:
            user_platforms = platforms[f"user{index % USERS}"]
            changed = 0
            for step in range(SWITCHES_EACH):
                target = user_platforms[(step + 1) % 2]  # sessions start on the default, [0]
                changed += facade.switch_platform(tokens[index], target).changed
            return changed

        with every_pool_observed() as use:
            outcomes = run_at_once(THREADS, switch_back_and_forth)
        errors = [o for o in outcomes if isinstance(o, BaseException)]
        assert errors == []
        assert outcomes == [SWITCHES_EACH] * THREADS
        assert use.checkouts == use.checkins  # every database session closed
        assert use.peak <= ORIGINAL_POOL.pool_size + ORIGINAL_POOL.max_overflow
        for index, token in enumerate(tokens):
            expected = platforms[f"user{index % USERS}"][SWITCHES_EACH % 2]
            assert facade.resolve(token).platform_id == expected
    finally:
        facade.close()
        if sql_database.kind == "postgresql":
            from platform_sessions.adapters.sqlalchemy import sql_tables

            drop_tables(sql_database.engine, sql_tables(prefix))
