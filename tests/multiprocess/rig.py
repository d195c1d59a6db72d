"""The parent side of the multi-process fault suite: servers, workers, fault schedule, checks."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from attrs import define, field
from psycopg import sql

from platform_sessions.adapters.redis import RedisEndpoint, RedisUserSessionRepository
from platform_sessions.domain.errors import StoreUnavailable
from platform_sessions.domain.token import RoutingTag, SessionToken, TokenDigest
from platform_sessions.entrypoints.two_tier_storage import TwoTierStorage
from tests.multiprocess.ledger import Verdict, judge, read_ledgers
from tests.multiprocess.worker import OPTIONS, POLICY, SETTINGS, build
from tests.support.postgres import PostgresServer
from tests.two_tier.faults import owed_outbox_depth
from tests.two_tier.load import connect_platforms, wait_until
from tests.two_tier.wiring import two_tier_sessions

REPOSITORY = Path(__file__).resolve().parents[2]
WORKERS = 3
USERS = 100
SESSIONS_PER_USER = 3
PLATFORMS_PER_USER = 2
WORKER_STARTUP_S = 5.0
WORKER_EXIT_S = 60.0
AGREE_WITHIN_S = 20.0


@define
class Outcome:
    """Everything a fault run found."""

    seed: int
    verdict: Verdict
    faults: list[str]
    disagreements: list[str]
    owed_outbox_rows: int
    worker_failures: list[str] = field(factory=list)

    def summary(self) -> str:
        return (
            f"seed={self.seed} faults={self.faults} {self.verdict.summary()} "
            f"owed outbox rows={self.owed_outbox_rows} disagreements={len(self.disagreements)} "
            f"{self.disagreements[:3]} worker failures={self.worker_failures[:2]} "
            f"problems={self.verdict.problems[:12]}"
        )


def seed_sessions(config: dict[str, Any]) -> None:
    """Users, their platforms and the shared sessions, made by the parent before the load."""
    facade = build({**config, "database_url": config["direct_database_url"]}, migrate=True)
    try:
        users = [f"mp-{config['seed']}-{u}" for u in range(USERS)]
        platforms: dict[str, list[str]] = {}
        sessions: list[dict[str, str]] = []
        for user in users:
            platforms[user] = connect_platforms(facade, user, PLATFORMS_PER_USER)
            for _ in range(SESSIONS_PER_USER):
                started = facade.start_session(user)
                sessions.append(
                    {"user": user, "token": started.token.value, "sid": started.context.session.session_id}
                )
    finally:
        facade.close()
    config.update(users=users, platforms=platforms, sessions=sessions)


def run_workers(
    config: dict[str, Any], tmp_path: Path, load_s: float, inject: Callable[[float, float], list[str]]
) -> tuple[list[Path], list[str], list[str]]:
    """Start the workers, run ``inject(start_at, stop_at)`` (the faults) meanwhile, wait for them."""
    start_at = time.monotonic() + WORKER_STARTUP_S
    stop_at = start_at + load_s
    ledgers, processes = [], []
    for index in range(WORKERS):
        ledger = tmp_path / f"ledger-{index}.jsonl"
        path = tmp_path / f"worker-{index}.json"
        path.write_text(
            json.dumps(
                {
                    **config,
                    "index": index,
                    "workers": WORKERS,
                    "start_at": start_at,
                    "stop_at": stop_at,
                    "ledger": str(ledger),
                }
            )
        )
        log = (tmp_path / f"worker-{index}.log").open("wb")
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.multiprocess.worker", str(path)],
                cwd=REPOSITORY,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        ledgers.append(ledger)
    faults: list[str] = []
    failures: list[str] = []
    try:
        faults = inject(start_at, stop_at)
    finally:
        for index, process in enumerate(processes):
            try:
                code = process.wait(max(1.0, stop_at - time.monotonic()) + WORKER_EXIT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait(10)
            if code != 0:
                log_tail = (tmp_path / f"worker-{index}.log").read_text()[-1500:]
                failures.append(f"worker {index} exited {code}: {log_tail}")
    return ledgers, faults, failures


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


def check(config: dict[str, Any], ledgers: list[Path], faults: list[str], failures: list[str]) -> Outcome:
    """Let a fresh process's relay drain, then compare the stores and judge the ledgers."""
    records = read_ledgers(p for p in ledgers if p.exists())
    with two_tier_sessions(
        RedisEndpoint.server(config["redis_url"]),
        config["direct_database_url"],
        policy=POLICY,
        options=OPTIONS,
        table_prefix=config["table_prefix"],
        migrate=False,
        settings=SETTINGS,
    ) as (_, storage):
        redis_sessions: RedisUserSessionRepository = storage.redis_sessions()
        ended = _ended_tokens(records)

        def disagreements() -> list[str]:
            found: list[str] = []
            try:
                owed = owed_outbox_depth(storage)
                if owed:
                    found.append(f"{owed} outbox rows owed")
                for sid, digest, version, platform in _database_rows(config):
                    mirrored = redis_sessions.get(digest)
                    if mirrored is None:
                        found.append(f"{sid[:8]} missing from Redis")
                    elif (mirrored.version, mirrored.active_platform_id) != (version, platform):
                        found.append(
                            f"{sid[:8]}: Redis v{mirrored.version}/{mirrored.active_platform_id}, "
                            f"database v{version}/{platform}"
                        )
                    elif mirrored.data != (in_database := _stored_data(storage, digest)):
                        found.append(f"{sid[:8]}: Redis data {dict(mirrored.data)}, database {in_database}")
                for token in ended:
                    if redis_sessions.get(SessionToken.parse(token).digest) is not None:
                        found.append(f"ended {token[-10:]} still in Redis")
            except StoreUnavailable as error:
                found.append(f"unavailable: {error}")
            return found

        wait_until(lambda: not disagreements(), AGREE_WITHIN_S, step_s=0.5)
        left = disagreements()
        owed = owed_outbox_depth(storage)
        finals = {sid: platform for sid, _, _, platform in _database_rows(config)}
    verdict = judge(records, finals)
    return Outcome(config["seed"], verdict, faults, left, owed, failures)


def _stored_data(storage: TwoTierStorage, digest: TokenDigest) -> dict[str, Any] | None:
    """The session's data as the database has it (``None`` if the session is gone there)."""
    with storage.database().transaction("read a session's data", read_only=True) as tx:
        stored = tx.user_sessions.get(digest)
    return None if stored is None else dict(stored.data)


def _ended_tokens(records: list[dict[str, Any]]) -> set[str]:
    ended: set[str] = set()
    for r in records:
        if r["out"] != "ok":
            continue
        if r["op"] == "end":
            ended.add(r["tok"])
        elif r["op"] == "rotate":
            ended.add(r["old"])
        elif r["op"] == "endall":
            ended.update(r["toks"])
    return ended


def _database_rows(config: dict[str, Any]) -> list[tuple[str, TokenDigest, int, str | None]]:
    server = PostgresServer(port=config["postgres_port"])
    table = sql.Identifier(config["schema"], f"{config['table_prefix']}user_sessions")
    with server.connect() as connection:
        rows = connection.execute(
            sql.SQL(
                "SELECT session_id, token_digest, token_routing_tag, version, active_platform_id FROM {}"
            ).format(table)
        ).fetchall()
    return [
        (
            str(sid),
            TokenDigest(str(digest), RoutingTag(str(tag))),
            int(str(version)),
            None if platform is None else str(platform),
        )
        for sid, digest, tag, version, platform in rows
    ]


def rng_for(seed: int) -> random.Random:
    return random.Random(seed)
