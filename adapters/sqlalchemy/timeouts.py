"""How long any database call may take before it becomes :class:`StoreUnavailable` (a 503).

One value for the SQL adapters, :class:`DatabaseTimeouts`, given to the engine through
``SqlEngineSettings(timeouts=...)`` (and so to ``bootstrap(sql_engine=...)``). Why each bound
exists, and what enforces it, is in architecture.md ("Engine and pool").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from platform_sessions.domain.errors import InvalidInput

# libpq counts connect_timeout in whole seconds and treats anything below 2 as 2.
MIN_CONNECT_S = 2
# The server cancels a statement a little before the client gives up on the connection, so a
# slow statement on a live server fails cleanly (QueryCanceled) and its connection survives;
# the client's own deadline only fires when the server or the network is silent.
SERVER_SHARE = 0.9


@dataclass(frozen=True)
class DatabaseTimeouts:
    """Bounds on every database call path; the defaults suit a web request (a few seconds).

    - ``statement_s``: one round trip on an open connection (a statement, a COMMIT, a
      ROLLBACK, the pool's pre-ping). PostgreSQL: the server's ``statement_timeout`` is set to
      90% of it, and the client closes a connection that has not answered within it (a paused
      server or a silent network, which no server setting can bound); ``tcp_user_timeout``
      and TCP keepalives let the kernel notice a dead peer too. ``None`` lifts the bound
      (long maintenance runs; migrations lift it for their own transaction).
    - ``connect_s``: opening a new connection (libpq ``connect_timeout``: whole seconds, at
      least 2).
    - ``pool_checkout_s``: waiting for a free pooled connection when all are in use.
    - ``sqlite_busy_s``: a SQLite writer waiting for the write lock (``busy_timeout``).

    On PostgreSQL, a request that meets a paused database gets :class:`StoreUnavailable`
    within ``statement_s + connect_s`` (the pre-ping of a pooled connection times out, and the
    fresh connection the pool then tries does too), plus ``pool_checkout_s`` if it first had to
    wait for a connection: :attr:`request_bound_s`.
    """

    statement_s: float | None = 3.0
    connect_s: int = 2
    pool_checkout_s: float = 3.0
    sqlite_busy_s: float = 5.0

    def __post_init__(self) -> None:
        if self.statement_s is not None and not (0 < self.statement_s < math.inf):
            raise InvalidInput("statement_s must be a positive number of seconds, or None for no bound")
        if self.connect_s < MIN_CONNECT_S:
            raise InvalidInput(f"connect_s must be at least {MIN_CONNECT_S} (libpq's own minimum)")
        if not (0 < self.pool_checkout_s < math.inf):
            raise InvalidInput("pool_checkout_s must be a positive number of seconds")
        if not (0 <= self.sqlite_busy_s < math.inf):
            raise InvalidInput("sqlite_busy_s must be a number of seconds, 0 or more")

    @property
    def request_bound_s(self) -> float | None:
        """The longest a database call waits before :class:`StoreUnavailable` on PostgreSQL
        (``None`` without a statement bound)."""
        if self.statement_s is None:
            return None
        return self.pool_checkout_s + self.statement_s + self.connect_s

    @property
    def server_statement_timeout_ms(self) -> int:
        """PostgreSQL's ``statement_timeout`` (0: none)."""
        return 0 if self.statement_s is None else max(1, int(self.statement_s * SERVER_SHARE * 1000))

    @property
    def sqlite_busy_timeout_ms(self) -> int:
        return int(self.sqlite_busy_s * 1000)
