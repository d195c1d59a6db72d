"""Issue 12, items 2 and 5, proven across OS processes: several workers, each with its own
storage on a private redis-server and the PostgreSQL test database, race logouts against
rotations and switches against switches on the same sessions; a ledger of what every worker
was told is checked against the stores afterwards.

- Every acknowledged logout ends the session under every token it ever had (the rotations'
  too), in every store, and nothing brings it back (a rewarm, for the two-tier storage).
- No switch outcome reports a session older than what the decision had to see: its version is
  at least that of every switch acknowledged before it started, and its active platform is the
  target.
- Versions count every write: the acknowledged writes of a session have distinct versions,
  one after another, and the stored version is the last of them.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from platform_sessions.adapters.redis import RedisKeys
from platform_sessions.domain.errors import SessionNotFound
from platform_sessions.domain.token import SessionToken
from tests.builders import ROUTING_KEY
from tests.processes.race_worker import LogoutCase, SwitchCase, WorkerSpec, build_facade, run
from tests.sql.databases import drop_tables, unique_prefix

WORKERS = 3
LOGOUT_SESSIONS = 18  # half of them rotated (acknowledged) before their logout starts
SWITCH_SESSIONS = 4
SWITCHES_PER_SESSION = 25  # per worker
ROTATIONS_PER_SESSION = 3
RACE_BUDGET_S = 40.0  # every worker stops by then; the whole test stays well under 60 s


@dataclass(frozen=True)
class Stores:
    """The storage under test and the servers behind it."""

    kind: str  # "two-tier" or "redis"
    redis_url: str
    database_url: str
    table_prefix: str


@pytest.fixture(params=["two-tier", "redis"])
def storage_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_logouts_beat_rotations_and_switch_outcomes_are_never_stale_across_processes(
    storage_kind, redis_server_factory, postgres_url, tmp_path
):
    server = redis_server_factory()
    stores = Stores(storage_kind, server.url, postgres_url, unique_prefix())
    _migrate(stores)
    parent = build_facade(
        stores.kind, stores.redis_url, stores.database_url, stores.table_prefix, ROUTING_KEY.secret
    )
    try:
        logouts, switches, session_ids, first_versions = _seed(parent)
        started = time.time()
        ledgers = _race(stores, logouts, switches, tmp_path)
        race_s = time.time() - started

        errors = [e for ledger in ledgers for e in ledger["errors"]]
        assert errors == [], "\n".join(errors)
        problems: list[str] = []  # both checks run, so a failure shows everything that broke
        for check in (
            lambda: _check_logouts(parent, stores, logouts, ledgers, session_ids),
            lambda: _check_switches(parent, switches, ledgers, first_versions),
        ):
            try:
                check()
            except AssertionError as failure:
                problems.append(str(failure).splitlines()[0])
        assert problems == [], "\n".join(problems)
        refused = [r for ledger in ledgers for r in ledger["refused"]]
        assert {r["error"] for r in refused} <= {"ConcurrentUpdate"}, refused
        switched = sum(len(ledger["switches"]) for ledger in ledgers)
        assert switched >= WORKERS * SWITCH_SESSIONS * SWITCHES_PER_SESSION // 2  # the race ran
        print(f"\n{storage_kind}: {switched} switch outcomes, {len(refused)} refused, race {race_s:.1f} s")
    finally:
        parent.close()
        _drop(stores)


def _migrate(stores: Stores) -> None:
    from platform_sessions.adapters.sqlalchemy import upgrade_database

    upgrade_database(stores.database_url, table_prefix=stores.table_prefix)


def _drop(stores: Stores) -> None:
    from platform_sessions.adapters.sqlalchemy import create_sql_engine, sql_tables

    engine = create_sql_engine(stores.database_url)
    try:
        drop_tables(engine, sql_tables(stores.table_prefix))
    finally:
        engine.dispose()


def _seed(parent: Any) -> tuple[list[LogoutCase], list[SwitchCase], dict[str, str], dict[str, int]]:
    logouts: list[LogoutCase] = []
    session_ids: dict[str, str] = {}
    first_versions: dict[str, int] = {}
    for n in range(LOGOUT_SESSIONS):
        started = parent.start_session(f"leaver{n % 6}")
        key = f"logout{n}"
        rotator = n % WORKERS
        ender = (n + 1) % WORKERS  # never the rotator: two processes
        logouts.append(LogoutCase(key, str(started.token), rotator, ender, ordered=n % 2 == 0))
        session_ids[key] = started.context.session.session_id
    switches: list[SwitchCase] = []
    for n in range(SWITCH_SESSIONS):
        user = f"switcher{n}"
        platforms = tuple(
            parent.connect_platform(
                user,
                name=name,
                platform_type=name.lower(),
                instance_url=f"https://{name}.example",
                username=user,
            ).id
            for name in ("Mastodon", "Pixelfed", "Misskey")
        )
        started = parent.start_session(user)
        key = f"switch{n}"
        switches.append(SwitchCase(key, str(started.token), platforms))
        session_ids[key] = started.context.session.session_id
        first_versions[key] = started.context.session.version
    return logouts, switches, session_ids, first_versions


def _race(
    stores: Stores, logouts: list[LogoutCase], switches: list[SwitchCase], tmp_path: Path
) -> list[dict[str, Any]]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    deadline = time.time() + RACE_BUDGET_S
    specs = [
        WorkerSpec(
            storage=stores.kind,
            index=i,
            redis_url=stores.redis_url,
            database_url=stores.database_url,
            table_prefix=stores.table_prefix,
            routing_key_hex=ROUTING_KEY.secret.hex(),
            ledger_path=str(tmp_path / f"ledger-{i}.json"),
            logouts=tuple(logouts),
            switches=tuple(switches),
            switches_per_session=SWITCHES_PER_SESSION,
            rotations_per_session=ROTATIONS_PER_SESSION,
            deadline_wall_s=deadline,
            seed=1201 + i,
        )
        for i in range(WORKERS)
    ]
    processes = [context.Process(target=run, args=(spec, barrier), daemon=True) for spec in specs]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=max(deadline + 10 - time.time(), 1))
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join(5)
    assert [p.exitcode for p in processes] == [0] * WORKERS
    return [json.loads(Path(spec.ledger_path).read_text(encoding="utf-8")) for spec in specs]


def _check_logouts(
    parent: Any,
    stores: Stores,
    logouts: list[LogoutCase],
    ledgers: list[dict[str, Any]],
    session_ids: dict[str, str],
) -> None:
    ended = {entry["key"]: entry["ended"] for ledger in ledgers for entry in ledger["logouts"]}
    assert sorted(ended) == sorted(c.key for c in logouts), "every logout ran"
    told_false = sorted(k for k, v in ended.items() if not v)
    assert told_false == [], f"logouts that lost the race with a rotation: {told_false}"

    tokens: dict[str, list[str]] = {c.key: [c.token] for c in logouts}
    versions: dict[str, list[int]] = defaultdict(list)
    for ledger in ledgers:
        for rotation in ledger["rotations"]:
            tokens[rotation["key"]].append(rotation["token"])
            versions[rotation["key"]].append(rotation["version"])
    ordered = [c.key for c in logouts if c.ordered]
    assert all(len(tokens[k]) >= 2 for k in ordered), "every ordered case was rotated before its logout"
    for key, seen in versions.items():
        assert sorted(seen) == list(range(2, 2 + len(seen))), f"{key}: rotations' versions {sorted(seen)}"

    def assert_all_dead() -> None:
        for key_tokens in tokens.values():
            for token in key_tokens:
                with pytest.raises(SessionNotFound):
                    parent.resolve(token)
        _assert_absent_from_redis(stores.redis_url, [t for ts in tokens.values() for t in ts])
        _assert_absent_from_database(stores, [session_ids[c.key] for c in logouts])

    assert_all_dead()
    if stores.kind == "two-tier":
        parent.rewarm()  # nothing a relay, refill or rewarm does brings one back
        assert_all_dead()


def _assert_absent_from_redis(redis_url: str, tokens: list[str]) -> None:
    import redis

    keys = RedisKeys(ROUTING_KEY)
    client = redis.Redis.from_url(redis_url)
    try:
        alive = [t for t in tokens if client.exists(keys.session(SessionToken.parse(t).digest))]
    finally:
        client.close()
    assert alive == [], f"{len(alive)} tokens of ended sessions still in Redis"


def _assert_absent_from_database(stores: Stores, session_ids: list[str]) -> None:
    from platform_sessions.adapters.sqlalchemy import create_sql_engine, sql_tables

    engine = create_sql_engine(stores.database_url)
    rows = sql_tables(stores.table_prefix).user_sessions
    try:
        with engine.connect() as connection:
            if not connection.dialect.has_table(connection, rows.__tablename__):  # type: ignore[attr-defined]
                return  # the Redis storage keeps no session rows
            left = connection.execute(select(rows.session_id).where(rows.session_id.in_(session_ids))).all()
    finally:
        engine.dispose()
    assert left == [], f"{len(left)} ended sessions still in the database"


def _check_switches(
    parent: Any, switches: list[SwitchCase], ledgers: list[dict[str, Any]], first_versions: dict[str, int]
) -> None:
    outcomes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ledger in ledgers:
        for outcome in ledger["switches"]:
            outcomes[outcome["key"]].append(outcome)
    stale: list[str] = []
    for case in switches:
        mine = outcomes[case.key]
        writes = sorted((o for o in mine if o["changed"]), key=lambda o: o["version"])
        first = first_versions[case.key]
        assert [w["version"] for w in writes] == list(range(first + 1, first + 1 + len(writes))), (
            f"{case.key}: the acknowledged switches' versions are not one per write"
        )
        stored = parent.resolve(case.token).session
        assert stored.version == first + len(writes), f"{case.key}: versions do not count every write"
        if writes:
            assert stored.active_platform_id == writes[-1]["active"]
        for outcome in mine:
            if outcome["active"] != outcome["target"]:
                stale.append(f"{case.key}: changed={outcome['changed']} reported a platform not the target")
                continue
            before = [w["version"] for w in writes if w["acked_ns"] < outcome["started_ns"]]
            if before and outcome["version"] < max(before):
                stale.append(
                    f"{case.key}: changed={outcome['changed']} reported v{outcome['version']} after "
                    f"v{max(before)} was acknowledged"
                )
    assert stale == [], f"{len(stale)} of {sum(map(len, outcomes.values()))} outcomes stale, e.g. {stale[:3]}"
