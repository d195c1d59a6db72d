"""A differential check: a random sequence of operations gives the same answers on an adapter
as on the in-memory fake, which is the reference semantics of the port."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from platform_sessions.adapters.memory import InMemoryUserSessionRepository, ManualClock
from platform_sessions.domain.errors import PlatformSessionsError
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import UserSessionRepository
from platform_sessions.domain.routing import issue_token
from platform_sessions.domain.session import SessionChanges, UserSession, new_csrf_token
from platform_sessions.domain.session_data import SessionDataChanges
from platform_sessions.domain.token import SessionToken
from tests.builders import ROUTING_KEY, a_session, an_anonymous_session

USERS = ("alice", "bob")
PLATFORMS = (None, "p1", "p2")
DATA_KEYS = ("cart", "flash", "theme")
DATA_LIMIT = 60  # small, so that some writes are refused as too large


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


def _data_changes(rng: random.Random) -> SessionDataChanges:
    keys = rng.sample(DATA_KEYS, rng.randint(1, 2))
    deleted = {key for key in keys if rng.random() < 0.3}
    return SessionDataChanges({key: "x" * rng.randint(0, 30) for key in keys if key not in deleted}, deleted)


Call = Callable[..., object]  # each takes the repository (and binds its own arguments)


def _operation_on(read: UserSession, choice: float, rng: random.Random, now: datetime) -> tuple[str, Call]:
    """A random operation on a session known to have been stored (at some version)."""
    if choice < 0.45:
        changes = SessionChanges(active_platform_id=rng.choice(PLATFORMS))
        return "update", (lambda r, s=read, c=changes: r.update(s, c))
    if choice < 0.6:
        return "touch", (lambda r, s=read, t=now: r.touch(s, t))
    if choice < 0.7:
        # A rotation keeps the routing tag, a visitor's (random) as a user's.
        token = (
            issue_token(ROUTING_KEY, read.user_id)
            if read.user_id
            else SessionToken.issue(read.token_digest.routing_tag)
        )
        digest, csrf = token.digest, new_csrf_token()
        return "rotate", (lambda r, s=read, d=digest, c=csrf: r.rotate(s, d, c))
    if choice < 0.85:
        return _deletion_of(read, choice, rng)
    if choice < 0.93:
        return "get", (lambda r, d=read.token_digest: r.get(d))
    return "list", (lambda r, u=read.user_id or "bob", t=now: r.list_for_user(u, t))


def _deletion_of(read: UserSession, choice: float, rng: random.Random) -> tuple[str, Call]:
    if choice < 0.8:
        return "delete", (lambda r, s=read: r.delete(s))
    keep = read.session_id if rng.random() < 0.5 else None
    return "delete_all", (lambda r, u=read.user_id or "alice", k=keep: r.delete_all_for_user(u, keep=k))


def run_random_operations(
    adapter: UserSessionRepository,
    clock: ManualClock,
    policy: SessionPolicy,
    *,
    steps: int,
    seed: int,
    with_data: bool = False,
) -> int:
    """Apply the same ``steps`` random operations to ``adapter`` and a fake; returns how many
    operations were compared. Fails with the step, operation and both answers on a mismatch.

    ``with_data`` adds anonymous sessions and data writes (issue 15) to the mix."""
    fake = InMemoryUserSessionRepository(policy)
    rng = random.Random(seed)
    known: list[UserSession] = []  # every session version either side handed out, stale ones too
    for step in range(steps):
        # Distinct times (no ties for "least recently seen"), all within the idle timeout.
        clock.advance(timedelta(seconds=rng.choice((1, 2, 30, 61))))
        now = clock.now()
        choice = rng.random()
        calls: Call
        if choice < 0.2 or not known:
            if with_data and rng.random() < 0.3:
                session = an_anonymous_session(now=now, policy=policy, data={"cart": [step]})
            else:
                session = a_session(user_id=rng.choice(USERS), now=now, policy=policy)
            limit = rng.choice((2, 3, 100))
            name, calls = "create", (lambda r, s=session, n=limit: r.create(s, max_sessions=n))
        else:
            read = rng.choice(known)
            if with_data and rng.random() < 0.3:
                changes, expected_version = _data_changes(rng), read.version if rng.random() < 0.3 else None
                name, calls = (
                    "write_data",
                    (
                        lambda r, s=read, c=changes, v=expected_version: r.write_data(
                            s, c, max_bytes=DATA_LIMIT, expected_version=v
                        )
                    ),
                )
            else:
                name, calls = _operation_on(read, choice, rng, now)
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
