"""Where a resolve's time goes: the round trip, Redis's own time, and the client's.

The operation table compares medians of interleaved runs, whose round trip includes waking
both processes up, which on a small VM is most of it and moves with the load. Here each call
follows the previous one at once (so the processes stay awake), on a private redis-server
whose ``INFO commandstats`` then counts only our calls: the server's time per GET and per
resolve script, exactly. What is left of a resolve beyond the GET's round trip and the
script's extra server time is the client: parsing the token, sending the script, decoding
the reply, the expiry and platform rules.
"""

from __future__ import annotations

import secrets
import statistics
import time
from collections.abc import Callable, Mapping

import redis
from attrs import frozen

from benchmarks.baseline import Baseline
from benchmarks.operations import connect_two_platforms
from benchmarks.private_redis import private_redis
from benchmarks.session_loader import IP_ADDRESS, USER_AGENT
from benchmarks.storages import Servers, StorageKind, open_facade

CALLS = 3000
WARMUP_CALLS = 300


@frozen
class ServerTime:
    """What ``INFO commandstats`` says one command cost inside Redis, on average."""

    calls: int
    usec_per_call: float


@frozen
class Anatomy:
    """Back-to-back medians (µs) of a GET and a resolve, and Redis's own time for each."""

    get_us: float
    resolve_us: float
    get_server: ServerTime
    resolve_server: ServerTime

    @property
    def client_extra_us(self) -> float:
        """What the client adds beyond the GET: the total, less the round trip and the script's
        extra server time."""
        server_extra = self.resolve_server.usec_per_call - self.get_server.usec_per_call
        return self.resolve_us - self.get_us - server_extra


def measure_anatomy(kind: StorageKind, servers: Servers, value_size: int) -> Anatomy:
    """Resolve and GET on a private redis-server (the database, if any, is the run's)."""
    with private_redis() as server:
        own = servers.with_redis(server.url)
        facade = open_facade(kind, own, near_cache=False)  # the round trip's anatomy
        baseline = Baseline(server.url, servers.key_prefix, value_size)
        admin = server.client()
        try:
            user = f"bench-anatomy-{secrets.token_hex(3)}"
            connect_two_platforms(facade, user)
            token = str(facade.start_session(user, user_agent=USER_AGENT, ip_address=IP_ADDRESS).token)
            get = baseline.operation().run
            assert get is not None
            get_us, get_server = _timed(get, admin, "get")
            resolve_us, resolve_server = _timed(lambda: facade.resolve(token), admin, "evalsha")
        finally:
            admin.close()
            baseline.close()
            facade.close()
    return Anatomy(get_us, resolve_us, get_server, resolve_server)


def _timed(call: Callable[[], object], admin: redis.Redis, command: str) -> tuple[float, ServerTime]:
    for _ in range(WARMUP_CALLS):
        call()
    admin.config_resetstat()
    seconds = []
    for _ in range(CALLS):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    stats: Mapping[str, Mapping[str, float]] = admin.info("commandstats")
    line = stats.get(f"cmdstat_{command}", {})
    server = ServerTime(int(line.get("calls", 0)), float(line.get("usec_per_call", 0.0)))
    return statistics.median(seconds) * 1e6, server
