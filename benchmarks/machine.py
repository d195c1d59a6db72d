"""What the numbers were measured on: the machine, the versions, the date."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path

import redis
import sqlalchemy
from attrs import frozen
from sqlalchemy import create_engine, text

UNKNOWN = "unknown"


@frozen
class Machine:
    cpu: str
    cores: int
    memory: str
    os: str
    python: str
    redis_server: str
    postgresql: str
    redis_py: str
    sqlalchemy: str
    date: str
    load_at_start: str

    def lines(self) -> list[str]:
        return [
            f"- Date: {self.date}",
            f"- Machine: {self.cpu}, {self.cores} cores, {self.memory} RAM; {self.os}",
            f"- Python {self.python}; redis-server {self.redis_server}; PostgreSQL {self.postgresql}",
            f"- redis-py {self.redis_py}; SQLAlchemy {self.sqlalchemy}",
            f"- Load average (1, 5, 15 min) at the start: {self.load_at_start}",
        ]


def describe_machine(redis_url: str, database_url: str) -> Machine:
    return Machine(
        cpu=_cpu_model(),
        cores=os.cpu_count() or 0,
        memory=_memory(),
        os=f"{platform.system()} {platform.release()}",
        python=platform.python_version(),
        redis_server=_redis_version(redis_url),
        postgresql=_postgres_version(database_url),
        redis_py=redis.__version__,
        sqlalchemy=sqlalchemy.__version__,
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        load_at_start=load_average(),
    )


def load_average() -> str:
    """Other work on the machine (a test run, say) shows up here and in the medians."""
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return UNKNOWN


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or UNKNOWN


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return UNKNOWN


def _redis_version(redis_url: str) -> str:
    try:
        with redis.Redis.from_url(redis_url, socket_timeout=5) as client:
            return str(client.info("server")["redis_version"])
    except redis.RedisError:
        return UNKNOWN


def _postgres_version(database_url: str) -> str:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar_one())
    except sqlalchemy.exc.SQLAlchemyError:
        return UNKNOWN
    finally:
        engine.dispose()
