"""One worker OS process of the multi-process fault suite: its own ``bootstrap()`` on the shared
Redis and PostgreSQL, a bounded mixed load on the shared sessions, and a ledger of every answer.

Run as ``python -m tests.multiprocess.worker <config.json>`` from the repository root. Every
operation is written to the ledger with the monotonic time it started and ended
(``time.monotonic`` is the system-wide ``CLOCK_MONOTONIC`` on Linux, so the parent compares
times of different processes). Only the owner of a user (``user index % workers``) changes that
user's sessions' lifecycle (login, rotation, end, end-all); every process resolves and switches
every session it knows of, so one process reads what another acknowledged. Each thread also
writes its own key of the sessions' data (``w<process>t<thread>``, counting up), so every write
of a key is later than the one before and a read must show at least the last one acknowledged.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

from platform_sessions.adapters.redis import RedisOptions
from platform_sessions.adapters.two_tier import BreakerSettings, TwoTierSettings
from platform_sessions.domain.errors import (
    ConcurrentUpdate,
    PlatformSessionsError,
    SessionNotFound,
    StoreUnavailable,
)
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.entrypoints.bootstrap import bootstrap
from platform_sessions.entrypoints.facade import PlatformSessions
from tests.builders import ROUTING_KEY

THREADS = 2
PAUSE_S = 0.002
# Fast failure so a fault shows within a request or two; the breaker opens quickly and probes
# often, so recovery happens many times per run.
OPTIONS = RedisOptions(connect_timeout=0.1, read_timeout=0.2, publish_in_background=True)
SETTINGS = TwoTierSettings(
    breaker=BreakerSettings(failure_threshold=3, open_seconds=0.5), relay_interval_s=0.2
)
POLICY = SessionPolicy(max_sessions_per_user=200)
DATA_WRITE_SHARE = 0.06  # of the steps: a resolve, then a write of the thread's own data key


def build(config: dict[str, Any], *, migrate: bool = False) -> PlatformSessions:
    """The real composition root, with every argument explicit (defaults may change)."""
    return bootstrap(
        redis_url=config["redis_url"],
        database_url=config["database_url"],
        routing_key=ROUTING_KEY,
        table_prefix=config["table_prefix"],
        migrate=migrate,
        policy=POLICY,
        redis_options=OPTIONS,
        two_tier=SETTINGS,
    )


class Ledger:
    """Records of one process, kept in memory and written once at the end (JSON lines)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records: list[dict[str, Any]] = []

    def add(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.records.append(record)

    def write(self, path: Path) -> None:
        path.write_text("".join(json.dumps(r) + "\n" for r in self.records))


class Load:
    """This process's view: every initial session, and the tokens of the users it owns."""

    def __init__(self, sessions: PlatformSessions, config: dict[str, Any], ledger: Ledger) -> None:
        self._sessions = sessions
        self._ledger = ledger
        self._index = config["index"]
        self._workers = config["workers"]
        self._stop_at = config["stop_at"]
        self._seed = config["seed"]
        self._lock = threading.Lock()
        self.platforms: dict[str, list[str]] = config["platforms"]
        # token -> (user, session id); shared initial sessions plus what this process started.
        self.known: dict[str, tuple[str, str]] = {
            s["token"]: (s["user"], s["sid"]) for s in config["sessions"]
        }
        self.owned_users = [u for i, u in enumerate(config["users"]) if i % self._workers == self._index]
        self.owned: dict[str, tuple[str, str]] = {
            t: v for t, v in self.known.items() if v[0] in set(self.owned_users)
        }

    def run(self) -> None:
        threads = [
            threading.Thread(
                target=self._loop, args=(t, random.Random(self._seed * 1000 + self._index * 10 + t))
            )
            for t in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)

    def _loop(self, thread: int, rng: random.Random) -> None:
        key, written = f"w{self._index}t{thread}", 0
        while time.monotonic() < self._stop_at:
            if rng.random() < DATA_WRITE_SHARE:
                written += 1  # used up even if the write is not made: values only go up
                self._data_step(rng, key, written)
            else:
                self._step(rng, lifecycle=thread == 0)
            time.sleep(PAUSE_S)

    def _data_step(self, rng: random.Random, key: str, value: int) -> None:
        with self._lock:
            token = rng.choice(sorted(self.known))
            _, sid = self.known[token]
        context = self._resolve(token, sid)
        if context is not None:
            self._write_data(context, sid, key, value)

    def _step(self, rng: random.Random, *, lifecycle: bool) -> None:
        choice = rng.random()
        with self._lock:
            if choice >= 0.82 and self.owned:
                token = rng.choice(sorted(self.owned))
            else:
                token = rng.choice(sorted(self.known))
            user, sid = self.known[token]
            owner = token in self.owned
        if choice < 0.70:
            self._resolve(token, sid)
        elif choice < 0.82:
            context = self._resolve(token, sid)
            if context is not None:
                self._switch(context, sid, rng.choice(self.platforms[user]))
        elif not owner or not lifecycle:
            # Only one thread of the owner ends or rotates: never two at once on one session.
            self._resolve(token, sid)
        elif choice < 0.87:
            self._login(user)
        elif choice < 0.92:
            context = self._resolve(token, sid)
            if context is not None:
                self._rotate(context, token, user, sid)
        elif choice < 0.985:
            context = self._resolve(token, sid)
            if context is not None:
                self._end(context, token, sid)
        else:
            self._end_all(user)

    # --- operations, each recorded ----------------------------------------------------------

    def _record(self, op: str, started: float, outcome: str, **fields: Any) -> None:
        ended = time.monotonic()
        self._ledger.add({"op": op, "s": started, "e": ended, "p": self._index, "out": outcome, **fields})

    def _resolve(self, token: str, sid: str) -> Any:
        started = time.monotonic()
        try:
            context = self._sessions.resolve(token)
        except SessionNotFound:
            self._record("resolve", started, "notfound", tok=token, sid=sid)
            return None
        except StoreUnavailable as error:
            self._record("resolve", started, "unavailable", tok=token, sid=sid, why=str(error)[:200])
            return None
        except PlatformSessionsError as error:
            self._record("resolve", started, "error", tok=token, sid=sid, why=repr(error)[:200])
            return None
        session = context.session
        self._record(
            "resolve",
            started,
            "ok",
            tok=token,
            sid=sid,
            v=session.version,
            plat=session.active_platform_id,
            data=dict(session.data),
        )
        return context

    def _write_data(self, context: Any, sid: str, key: str, value: int) -> None:
        started = time.monotonic()
        try:
            stored = self._sessions.write_session_data(context, set={key: value})
        except (ConcurrentUpdate, SessionNotFound) as error:
            self._record("data", started, "refused", sid=sid, key=key, val=value, why=type(error).__name__)
            return
        except PlatformSessionsError as error:
            # StoreUnavailable may hide a commit that happened (an ambiguous answer).
            self._record("data", started, "ambiguous", sid=sid, key=key, val=value, why=repr(error)[:200])
            return
        self._record("data", started, "ok", sid=sid, key=key, val=value, v=stored.version)

    def _switch(self, context: Any, sid: str, target: str) -> None:
        started = time.monotonic()
        try:
            outcome = self._sessions.switch_platform(context, target)
        except (ConcurrentUpdate, SessionNotFound) as error:
            self._record("switch", started, "refused", sid=sid, target=target, why=type(error).__name__)
            return
        except PlatformSessionsError as error:
            # StoreUnavailable may hide a commit that happened (an ambiguous answer).
            self._record("switch", started, "ambiguous", sid=sid, target=target, why=repr(error)[:200])
            return
        self._record(
            "switch",
            started,
            "ok",
            sid=sid,
            target=target,
            changed=outcome.changed,
            v=outcome.session.version,
            read_v=context.session.version,
        )

    def _login(self, user: str) -> None:
        started = time.monotonic()
        try:
            issued = self._sessions.start_session(user)
        except PlatformSessionsError as error:
            self._record("login", started, "ambiguous", user=user, why=repr(error)[:200])
            return
        token = issued.token.value
        sid = str(issued.context.session.session_id)
        with self._lock:
            self.known[token] = self.owned[token] = (user, sid)
        self._record("login", started, "ok", user=user, tok=token, sid=sid, v=issued.context.session.version)

    def _rotate(self, context: Any, token: str, user: str, sid: str) -> None:
        started = time.monotonic()
        try:
            rotated = self._sessions.rotate(context)
        except (ConcurrentUpdate, SessionNotFound) as error:
            self._record("rotate", started, "refused", sid=sid, old=token, why=type(error).__name__)
            return
        except PlatformSessionsError as error:
            self._record("rotate", started, "ambiguous", sid=sid, old=token, why=repr(error)[:200])
            self._forget(token)  # it may be dead: never judged again by this process
            return
        new = rotated.token.value
        with self._lock:
            self._forget(token)
            self.known[new] = self.owned[new] = (user, sid)
        self._record("rotate", started, "ok", sid=sid, old=token, new=new, v=rotated.session.version)

    def _end(self, context: Any, token: str, sid: str) -> None:
        started = time.monotonic()
        try:
            self._sessions.end_session(context)
        except PlatformSessionsError as error:
            self._record("end", started, "ambiguous", sid=sid, tok=token, why=repr(error)[:200])
            self._forget(token)
            return
        self._forget(token)
        self._record("end", started, "ok", sid=sid, tok=token)

    def _end_all(self, user: str) -> None:
        started = time.monotonic()
        with self._lock:
            tokens = [t for t, (u, _) in self.owned.items() if u == user]
        outcome = "ok"
        try:
            self._sessions.end_all_sessions(user)
        except PlatformSessionsError:
            outcome = "ambiguous"
        for token in tokens:
            self._forget(token)
        self._record("endall", started, outcome, user=user, toks=tokens)

    def _forget(self, token: str) -> None:
        # Owned tokens leave this process's view once ended (only the owner ends them); an
        # initial token stays known to the others, whose resolves must then say "not found".
        self.owned.pop(token, None)
        if len(self.known) > 1:
            self.known.pop(token, None)


def main(config_path: str) -> int:
    config = json.loads(Path(config_path).read_text())
    ledger = Ledger()
    sessions = build(config)
    try:
        while time.monotonic() < config["start_at"]:
            time.sleep(0.01)
        Load(sessions, config, ledger).run()
    finally:
        sessions.close()
        ledger.write(Path(config["ledger"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
