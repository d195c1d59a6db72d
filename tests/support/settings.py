"""Where the test services are, with the environment overrides the suite honours.

Only ports and the Redis database number can be changed: the host is always loopback so
that no test can ever be pointed at another machine.

Redis: by default the suite starts its own redis-server (a free loopback port, nothing on
disk) and so flushes nobody's data. Setting PLATFORM_SESSIONS_TEST_REDIS_DB (or _PORT) tells
it to use that database of an already running server instead, which it then empties.
PostgreSQL: the server at 127.0.0.1:5432 (user postgres, allowed to create databases); the
suite creates a database of its own for the run and drops it at the end.
"""

from __future__ import annotations

import os

LOOPBACK = "127.0.0.1"

REDIS_PORT_ENV = "PLATFORM_SESSIONS_TEST_REDIS_PORT"
REDIS_DB_ENV = "PLATFORM_SESSIONS_TEST_REDIS_DB"
POSTGRES_PORT_ENV = "PLATFORM_SESSIONS_TEST_POSTGRES_PORT"

# Set by the postgres fixtures for the run (and so inherited by worker processes): the name
# of the database they created. Not a setting: whatever was there before is replaced.
POSTGRES_DATABASE_ENV = "PLATFORM_SESSIONS_TEST_POSTGRES_DATABASE"

DEFAULT_REDIS_PORT = 6379
# Not 0: a developer's own data in the default database must survive the FLUSHDBs.
DEFAULT_REDIS_DB = 9
DEFAULT_POSTGRES_PORT = 5432
POSTGRES_USER = "postgres"
# Where the fixtures connect to create and drop the run's database (never used by a test).
POSTGRES_MAINTENANCE_DATABASE = "postgres"


def _int_from_env(name: str, default: int, *, lowest: int, highest: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer") from None
    if not lowest <= value <= highest:
        raise ValueError(f"{name}={value} is outside {lowest}..{highest}")
    return value


def redis_port() -> int:
    return _int_from_env(REDIS_PORT_ENV, DEFAULT_REDIS_PORT, lowest=1, highest=65535)


def shared_redis_requested() -> bool:
    """True when the environment names a running Redis to use instead of a private server."""
    return any(os.environ.get(name, "").strip() for name in (REDIS_PORT_ENV, REDIS_DB_ENV))


def redis_db() -> int:
    # Redis has 16 databases unless configured otherwise; the server rejects a higher index.
    return _int_from_env(REDIS_DB_ENV, DEFAULT_REDIS_DB, lowest=0, highest=10_000)


def postgres_port() -> int:
    return _int_from_env(POSTGRES_PORT_ENV, DEFAULT_POSTGRES_PORT, lowest=1, highest=65535)


def postgres_database() -> str:
    """The database the postgres fixtures created for this run."""
    name = os.environ.get(POSTGRES_DATABASE_ENV, "").strip()
    if not name:
        raise RuntimeError(
            "no test database has been created: request the postgres_url or postgres_schema fixture"
        )
    return name
