"""Where the shared test services are, with the environment overrides the suite honours.

Only ports and the Redis database number can be changed: the host is always loopback so
that no test can ever be pointed at another machine.
"""

from __future__ import annotations

import os

LOOPBACK = "127.0.0.1"

REDIS_PORT_ENV = "PLATFORM_SESSIONS_TEST_REDIS_PORT"
REDIS_DB_ENV = "PLATFORM_SESSIONS_TEST_REDIS_DB"
POSTGRES_PORT_ENV = "PLATFORM_SESSIONS_TEST_POSTGRES_PORT"

DEFAULT_REDIS_PORT = 6379
# Not 0: a developer's own data in the default database must survive the FLUSHDBs.
DEFAULT_REDIS_DB = 9
DEFAULT_POSTGRES_PORT = 5432
POSTGRES_USER = "postgres"
POSTGRES_DATABASE = "test"


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


def redis_db() -> int:
    # Redis has 16 databases unless configured otherwise; the server rejects a higher index.
    return _int_from_env(REDIS_DB_ENV, DEFAULT_REDIS_DB, lowest=0, highest=10_000)


def postgres_port() -> int:
    return _int_from_env(POSTGRES_PORT_ENV, DEFAULT_POSTGRES_PORT, lowest=1, highest=65535)
