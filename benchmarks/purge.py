"""Section 3: purging a million expired sessions from PostgreSQL, batch by batch.

The rows are written in bulk (one ``INSERT ... SELECT generate_series``) into the library's own
table, in a private schema, next to a few live rows that must survive. The library's purge logs
each batch's transaction time (``batch_seconds``); collecting those records gives the longest
single transaction without instrumenting the library.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from attrs import define, field
from sqlalchemy import create_engine, text

from benchmarks.private_postgres import private_schema
from benchmarks.session_loader import IP_ADDRESS, USER_AGENT
from platform_sessions.entrypoints import bootstrap

PURGE_LOGGER = "platform_sessions.adapters.sqlalchemy.user_session_repository"
LIVE_ROWS = 1000

# Rows whose idle deadline is :expires and earlier (before now: expired; after: live), spread a
# millisecond apart so that the expires_at index orders them like sessions expiring one by one.
_INSERT = """
INSERT INTO ps_user_sessions (
    session_id, token_digest, token_routing_tag, user_id, active_platform_id,
    created_at, last_seen_at, absolute_expires_at, expires_at, version,
    csrf_token, user_agent, ip_address, attributes)
SELECT md5(i::text || :kind || 's') || md5(i::text || :kind || 'S'),
       md5(i::text || :kind || 'd') || md5(i::text || :kind || 'D'),
       'abcdefgh', 'purge-user-' || :kind || (i / 4), NULL,
       :created, :expires - interval '2 hours' - i * interval '1 millisecond',
       :created + interval '7 days', :expires - i * interval '1 millisecond', 1,
       md5(i::text || :kind || 'c'), :agent, :ip, '{}'::json
FROM generate_series(1, :rows) AS i
"""


@define
class PurgeResult:
    rows: int
    insert_seconds: float
    total_seconds: float
    batch_size: int
    batches: list[float] = field(factory=list)  # seconds, one per transaction
    live_rows_left: int = 0
    expired_rows_left: int = 0

    @property
    def longest(self) -> float:
        return max(self.batches)


class _BatchTimes(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seconds: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        batch_seconds = getattr(record, "batch_seconds", None)
        if batch_seconds is not None:
            self.seconds.append(float(batch_seconds))


@contextmanager
def _collected_batches() -> Iterator[_BatchTimes]:
    logger = logging.getLogger(PURGE_LOGGER)
    handler, level = _BatchTimes(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def measure_purge(database_url: str, *, rows: int, batch_size: int) -> PurgeResult:
    with private_schema(database_url) as url:
        now = datetime.now(UTC)
        insert_seconds = _fill(url, rows, now)
        with bootstrap(database_url=url) as facade, _collected_batches() as batches:
            started = time.perf_counter()
            purged = facade.purge_expired(batch_size=batch_size)
            total = time.perf_counter() - started
        if purged != rows:
            raise RuntimeError(f"purge deleted {purged} rows, expected {rows}")
        live, expired = _remaining(url, now)
        return PurgeResult(rows, insert_seconds, total, batch_size, batches.seconds, live, expired)


def _fill(url: str, rows: int, now: datetime) -> float:
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        with engine.begin() as connection:
            expired = {"kind": "x", "rows": rows, "created": now - timedelta(days=8), "expires": now}
            live = {"kind": "l", "rows": LIVE_ROWS, "created": now, "expires": now + timedelta(hours=2)}
            for values in (expired, live):
                connection.execute(text(_INSERT), {**values, "agent": USER_AGENT, "ip": IP_ADDRESS})
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE ps_user_sessions"))  # as autovacuum would, after a bulk load
        return time.perf_counter() - started
    finally:
        engine.dispose()


def _remaining(url: str, now: datetime) -> tuple[int, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            live = connection.execute(
                text("SELECT count(*) FROM ps_user_sessions WHERE expires_at > :now"), {"now": now}
            ).scalar_one()
            expired = connection.execute(
                text("SELECT count(*) FROM ps_user_sessions WHERE expires_at <= :now"), {"now": now}
            ).scalar_one()
        return int(live), int(expired)
    finally:
        engine.dispose()
