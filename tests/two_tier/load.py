"""A bounded mixed load on a facade, with the bookkeeping the fault tests judge it by.

Each worker thread owns its users, so no two threads act on one session and every answer can
be judged exactly: a token the worker holds as live must resolve (else a *rejection*), a token
it ended, revoked or rotated away must never resolve again (else a *resurrection*).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

from attrs import define, field

from platform_sessions.domain.errors import ConcurrentUpdate, SessionNotFound, StoreUnavailable
from platform_sessions.entrypoints.facade import PlatformSessions

PLATFORMS_PER_USER = 2


def connect_platforms(sessions: PlatformSessions, user: str, count: int = PLATFORMS_PER_USER) -> list[str]:
    """Connect ``count`` Mastodon accounts for ``user``; their platform ids."""
    return [
        sessions.connect_platform(
            user,
            name=f"acct{p}",
            platform_type="mastodon",
            instance_url=f"https://m{p}.example",
            username=f"{user}-{p}",
        ).id
        for p in range(count)
    ]


@define
class LoadStats:
    """What happened, summed over the workers."""

    requests: int = 0
    resolves: int = 0
    rejections: int = 0
    unavailable: int = 0
    conflicts: int = 0
    resurrections: int = 0
    failures: list[str] = field(factory=list)


@define
class Worker:
    """One thread's users, their live tokens and the tokens that must stay dead."""

    users: list[str]
    platforms: dict[str, list[str]]
    live: dict[str, str] = field(factory=dict)  # token -> user
    dead: set[str] = field(factory=set)
    stats: LoadStats = field(factory=LoadStats)


class MixedLoad:
    """Starts ``threads`` workers running resolve-mostly traffic until :meth:`stop`."""

    def __init__(
        self, sessions: PlatformSessions, *, threads: int = 4, users_per_thread: int = 5, seed: int = 7
    ):
        self._sessions = sessions
        self._stop = threading.Event()
        self._workers: list[Worker] = []
        self._threads: list[threading.Thread] = []
        for t in range(threads):
            users = [f"load-{seed}-{t}-{u}" for u in range(users_per_thread)]
            platforms: dict[str, list[str]] = {}
            for user in users:
                platforms[user] = connect_platforms(sessions, user)
            worker = Worker(users, platforms)
            for user in users:
                for _ in range(3):
                    worker.live[sessions.start_session(user).token.value] = user
            self._workers.append(worker)
            self._threads.append(
                threading.Thread(target=self._run, args=(worker, random.Random(seed * 100 + t)), daemon=True)
            )

    def start(self) -> None:
        """Start every worker."""
        for thread in self._threads:
            thread.start()

    def stop(self) -> LoadStats:
        """Stop the workers (bounded wait) and sum their stats."""
        self._stop.set()
        for thread in self._threads:
            thread.join(30)
        total = LoadStats()
        for worker in self._workers:
            for name in ("requests", "resolves", "rejections", "unavailable", "conflicts", "resurrections"):
                setattr(total, name, getattr(total, name) + getattr(worker.stats, name))
            total.failures.extend(worker.stats.failures)
        return total

    @property
    def live_tokens(self) -> dict[str, str]:
        """Every token a worker holds as live (after :meth:`stop`)."""
        return {token: user for worker in self._workers for token, user in worker.live.items()}

    @property
    def dead_tokens(self) -> set[str]:
        """Every token ended, revoked or rotated away (after :meth:`stop`)."""
        return {token for worker in self._workers for token in worker.dead}

    def _run(self, worker: Worker, rng: random.Random) -> None:
        while not self._stop.is_set():
            self._step(worker, rng)
            time.sleep(0.002)

    def _step(self, worker: Worker, rng: random.Random) -> None:
        stats = worker.stats
        stats.requests += 1
        choice = rng.random()
        try:
            if choice < 0.05 and worker.dead:
                self._resolve_dead(worker, rng.choice(sorted(worker.dead)))
            elif choice < 0.08 or not worker.live:
                user = rng.choice(worker.users)
                worker.live[self._sessions.start_session(user).token.value] = user
            else:
                token = rng.choice(sorted(worker.live))
                self._act(worker, rng, token, choice)
        except StoreUnavailable as error:
            stats.unavailable += 1
            stats.failures.append(f"unavailable: {error}")
        except ConcurrentUpdate:
            stats.conflicts += 1

    def _act(self, worker: Worker, rng: random.Random, token: str, choice: float) -> None:
        stats = worker.stats
        user = worker.live[token]
        stats.resolves += 1
        try:
            context = self._sessions.resolve(token)
        except SessionNotFound as error:
            stats.rejections += 1
            stats.failures.append(f"rejected a live session: {error}")
            return
        if choice < 0.80:
            return
        if choice < 0.88:
            target = rng.choice(worker.platforms[user])
            outcome = self._sessions.switch_platform(context, target)
            if outcome.new_token is not None:
                self._replace(worker, token, outcome.new_token.value)
        elif choice < 0.93:
            self._replace(worker, token, self._sessions.rotate(context).token.value)
        elif choice < 0.98:
            self._sessions.end_session(context)
            self._kill(worker, token)
        else:
            self._sessions.end_all_sessions(user)
            for other, owner in list(worker.live.items()):
                if owner == user:
                    self._kill(worker, other)

    def _resolve_dead(self, worker: Worker, token: str) -> None:
        try:
            self._sessions.resolve(token)
        except SessionNotFound:
            return
        # A process that still reached Redis may see an ended session for up to the relay
        # interval when the Redis write failed after the commit (the documented window).
        worker.stats.resurrections += 1

    def _replace(self, worker: Worker, old: str, new: str) -> None:
        worker.live[new] = worker.live.pop(old)
        worker.dead.add(old)

    def _kill(self, worker: Worker, token: str) -> None:
        worker.live.pop(token, None)
        worker.dead.add(token)


def wait_until(condition: Callable[[], bool], timeout_s: float, step_s: float = 0.05) -> float | None:
    """Seconds until ``condition()`` held, or ``None`` if it did not within ``timeout_s``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if condition():
            return time.monotonic() - started
        time.sleep(step_s)
    return None
