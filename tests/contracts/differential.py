"""A differential check: a random sequence of operations gives the same answers on an adapter
as on the in-memory fake, which is the reference semantics of the port."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from platform_sessions.adapters.memory import InMemoryUserSessionRepository, ManualClock
from platform_sessions.domain.errors import PlatformSessionsError
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import UserSessionRepository
from platform_sessions.domain.routing import issue_token
from platform_sessions.domain.session import SessionChanges, UserSession, new_csrf_token
from tests.builders import ROUTING_KEY, a_session

USERS = ("alice", "bob")
PLATFORMS = (None, "p1", "p2")


def _outcome(call: Callable[[], object]) -> tuple[str, object]:
    try:
        return ("ok", call())
    except PlatformSessionsError as error:
        return ("error", type(error).__name__)


def _normalised(value: object) -> object:
    # Lists of sessions may come back in any order where the port does not define one.
    if isinstance(value, list | tuple) and all(isinstance(v, UserSession) for v in value):
        return sorted((s.session_id, s.version, s.token_digest.hex) for s in value)
    return value


def run_random_operations(
    adapter: UserSessionRepository, clock: ManualClock, policy: SessionPolicy, *, steps: int, seed: int
) -> int:
    """Apply the same ``steps`` random operations to ``adapter`` and a fake; returns how many
    operations were compared. Fails with the step, operation and both answers on a mismatch."""
    fake = InMemoryUserSessionRepository(policy)
    rng = random.Random(seed)
    known: list[UserSession] = []  # every session version either side handed out, stale ones too
    for step in range(steps):
        # Distinct times (no ties for "least recently seen"), all within the idle timeout.
        clock.advance(timedelta(seconds=rng.choice((1, 2, 30, 61))))
        now = clock.now()
        choice = rng.random()
        calls: Callable[..., object]  # each takes the repository (and binds its own arguments)
        if choice < 0.2 or not known:
            session = a_session(user_id=rng.choice(USERS), now=now, policy=policy)
            limit = rng.choice((2, 3, 100))
            name, calls = "create", (lambda r, s=session, n=limit: r.create(s, max_sessions=n))
        else:
            read = rng.choice(known)
            if choice < 0.45:
                changes = SessionChanges(active_platform_id=rng.choice(PLATFORMS))
                name, calls = "update", (lambda r, s=read, c=changes: r.update(s, c))
            elif choice < 0.6:
                name, calls = "touch", (lambda r, s=read, t=now: r.touch(s, t))
            elif choice < 0.7:
                digest, csrf = issue_token(ROUTING_KEY, read.user_id).digest, new_csrf_token()
                name, calls = "rotate", (lambda r, s=read, d=digest, c=csrf: r.rotate(s, d, c))
            elif choice < 0.8:
                name, calls = "delete", (lambda r, s=read: r.delete(s))
            elif choice < 0.85:
                keep = read.session_id if rng.random() < 0.5 else None
                name, calls = (
                    "delete_all",
                    (lambda r, u=read.user_id, k=keep: r.delete_all_for_user(u, keep=k)),
                )
            elif choice < 0.93:
                name, calls = "get", (lambda r, d=read.token_digest: r.get(d))
            else:
                name, calls = "list", (lambda r, u=read.user_id, t=now: r.list_for_user(u, t))
        expected = _outcome(partial(calls, fake))
        actual = _outcome(partial(calls, adapter))
        assert (expected[0], _normalised(expected[1])) == (actual[0], _normalised(actual[1])), (
            f"step {step}: {name} answered {actual!r}, the fake {expected!r}"
        )
        result = expected[1]
        if isinstance(result, UserSession):
            known.append(result)
        if name == "create":
            known.append(session)
    return steps
