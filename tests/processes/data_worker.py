"""One worker process of the session data race: builds its own storage after it starts (as a
deployment's worker does), reads the session once, waits for the others, then writes its own
keys of that one session many times from two threads at once, each write with the copy read
before the race, and records the version every write was acknowledged with.

Run in a child started with the ``spawn`` method: importable, and nothing happens at import.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

THREADS = 2


@dataclass(frozen=True)
class DataWorkerSpec:
    storage: str  # "sql" (SQLite file or PostgreSQL by URL), "redis" or "two-tier"
    index: int
    redis_url: str
    database_url: str
    table_prefix: str
    routing_key_hex: str
    token: str
    writes_per_thread: int
    ledger_path: str
    deadline_wall_s: float  # time.time(): every loop stops here, finished or not


@dataclass
class DataLedger:
    """Per key: the versions its acknowledged writes were stored at, in order."""

    versions: dict[str, list[int]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def key_of(worker: int, thread: int) -> str:
    return f"worker{worker}-thread{thread}"


def build_storage(spec: DataWorkerSpec) -> Any:
    """The facade over the storage under test, built in this process."""
    key = bytes.fromhex(spec.routing_key_hex)
    if spec.storage == "sql":
        from platform_sessions.entrypoints import bootstrap

        return bootstrap(database_url=spec.database_url, table_prefix=spec.table_prefix, routing_key=key)
    from tests.processes.race_worker import build_facade

    return build_facade(spec.storage, spec.redis_url, spec.database_url, spec.table_prefix, key)


def run(spec: DataWorkerSpec, barrier: Any) -> None:
    """The child's entry point: build, read, wait for every worker, write, record."""
    from tests.processes.race_worker import run_and_record

    ledger = DataLedger()
    run_and_record(lambda: _write(spec, barrier, ledger), ledger, spec.ledger_path, barrier)


def _write(spec: DataWorkerSpec, barrier: Any, ledger: DataLedger) -> None:
    sessions = build_storage(spec)
    try:
        read = sessions.resolve(spec.token)  # this request's read, before anyone writes
        barrier.wait(timeout=60)

        def writer(thread: int) -> None:
            key = key_of(spec.index, thread)
            versions = ledger.versions.setdefault(key, [])
            try:
                for n in range(spec.writes_per_thread):
                    if time.time() > spec.deadline_wall_s:
                        ledger.errors.append(f"{key} ran out of time after {n} writes")
                        return
                    # The stale copy every time: a different key's write never needs a fresh one.
                    versions.append(sessions.write_session_data(read, set={key: n}).version)
            except BaseException:
                ledger.errors.append(traceback.format_exc())

        threads = [threading.Thread(target=writer, args=(t,)) for t in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(spec.deadline_wall_s + 5 - time.time(), 1))
        if any(thread.is_alive() for thread in threads):
            ledger.errors.append("a writer thread did not finish")
    finally:
        sessions.close()
