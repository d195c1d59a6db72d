"""The per-operation rows: each use case as a web request would call it, on one storage.

Each row uses its own user, so that one row's writes (a switch, twenty logins) never change
what another row measures. The main facade's clock stands still, so "resolve" is never due for
a touch; the "resolve with touch" row has a facade of its own whose clock moves one touch
interval before each run, so every one of its resolves is due. On a Redis-fronted storage the
main facade's near cache answers repeated resolves; one more row resolves the same session
through a facade without one.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from attrs import define

from benchmarks.session_loader import IP_ADDRESS, USER_AGENT
from benchmarks.timing import Operation
from platform_sessions.adapters.memory import ManualClock
from platform_sessions.domain.context import SessionContext
from platform_sessions.domain.errors import SessionNotFound
from platform_sessions.domain.ids import PlatformId, UserId
from platform_sessions.domain.routing import RoutingKey, issue_token
from platform_sessions.domain.session import UserSession
from platform_sessions.entrypoints.facade import PlatformSessions

LISTED_SESSIONS = 20  # the policy's default per-user limit: the largest list a user can have
NEEDS_TWO_TIER = "needs two-tier storage"
UNCACHED_RESOLVE = "resolve, near cache off (its round trip)"


@define
class Rig:
    """The facades the rows run on, all on the same servers.

    ``outage`` is a two-tier facade whose (private) Redis has been killed, or ``None`` with
    the reason in ``outage_unavailable``.
    """

    main: PlatformSessions
    touching: PlatformSessions
    touch_clock: ManualClock
    run_id: str
    uncached: PlatformSessions | None = None  # near cache off (Redis-fronted storages only)
    outage: PlatformSessions | None = None
    outage_token: str = ""
    outage_unavailable: str = NEEDS_TWO_TIER


def connect_two_platforms(facade: PlatformSessions, user_id: UserId) -> tuple[PlatformId, PlatformId]:
    """A default platform and a second one, as a user who switches between accounts has."""
    first = facade.connect_platform(
        user_id, name="Mastodon", platform_type="mastodon", instance_url="https://m.example", username="a"
    )
    second = facade.connect_platform(
        user_id, name="Pixelfed", platform_type="pixelfed", instance_url="https://p.example", username="a"
    )
    return first.id, second.id


def session_rows(rig: Rig) -> list[Operation]:
    """Every row of the operation table, in the order they are reported."""
    return [
        *_resolve_rows(rig),
        _start_row(rig),
        _switch_row(rig),
        _rotate_row(rig),
        _end_row(rig),
        _list_row(rig),
        _end_all_row(rig),
        _outage_row(rig),
        _random_token_row(rig),
    ]


def _user(rig: Rig, role: str) -> UserId:
    return f"bench-{rig.run_id}-{role}"


def _resolve_rows(rig: Rig) -> list[Operation]:
    main, user = rig.main, _user(rig, "resolver")
    _, other = connect_two_platforms(main, user)
    token = str(main.start_session(user, user_agent=USER_AGENT, ip_address=IP_ADDRESS).token)

    touch_user = _user(rig, "toucher")
    connect_two_platforms(rig.touching, touch_user)
    touch_token = str(
        rig.touching.start_session(touch_user, user_agent=USER_AGENT, ip_address=IP_ADDRESS).token
    )

    def due_for_touch() -> None:
        rig.touch_clock.advance(rig.touching.policy.touch_interval + timedelta(seconds=1))

    rows = [
        Operation("resolve (no touch due)", lambda: main.resolve(token)),
        Operation("resolve with touch", lambda: rig.touching.resolve(touch_token), prepare=due_for_touch),
        Operation("resolve with a platform override", lambda: main.resolve(token, platform_override=other)),
    ]
    uncached = rig.uncached
    if uncached is not None:
        # The same session through a facade without a near cache: the round trip every
        # resolve of a session not (or no longer) in the near cache takes.
        rows.append(Operation(UNCACHED_RESOLVE, lambda: uncached.resolve(token)))
    return rows


def _start_row(rig: Rig) -> Operation:
    main, user = rig.main, _user(rig, "starter")
    connect_two_platforms(main, user)
    started: list[SessionContext] = []

    def start() -> None:
        started.append(main.start_session(user).context)

    def end_it() -> None:  # keeps the user below the limit: no eviction in the timed login
        main.end_session(started.pop())

    return Operation("start", start, cleanup=end_it)


def _switch_row(rig: Rig) -> Operation:
    main, user = rig.main, _user(rig, "switcher")
    first, second = connect_two_platforms(main, user)
    current: list[UserSession] = [main.start_session(user).context.session]

    def switch() -> None:
        # Alternate, so that every switch changes something (a no-op switch writes nothing).
        target = second if current[0].active_platform_id == first else first
        outcome = main.switch_platform(current[0], target)
        current[0] = outcome.session

    return Operation("switch", switch)


def _rotate_row(rig: Rig) -> Operation:
    main, user = rig.main, _user(rig, "rotator")
    connect_two_platforms(main, user)
    current: list[UserSession] = [main.start_session(user).context.session]

    def rotate() -> None:
        current[0] = main.rotate(current[0]).session

    return Operation("rotate", rotate)


def _end_row(rig: Rig) -> Operation:
    main, user = rig.main, _user(rig, "leaver")
    connect_two_platforms(main, user)
    pending: list[SessionContext] = []

    def log_in() -> None:
        pending.append(main.start_session(user).context)

    return Operation("end", lambda: main.end_session(pending.pop()), prepare=log_in)


def _list_row(rig: Rig) -> Operation:
    main, user = rig.main, _user(rig, "lister")
    connect_two_platforms(main, user)
    for _ in range(LISTED_SESSIONS):
        main.start_session(user)

    def list_them() -> None:
        listed = main.list_sessions(user)
        assert len(listed) == LISTED_SESSIONS, len(listed)

    return Operation(f"list sessions of a user with {LISTED_SESSIONS}", list_them)


def _end_all_row(rig: Rig) -> Operation:
    main, user = rig.main, _user(rig, "everywhere")
    connect_two_platforms(main, user)

    def log_in_everywhere() -> None:
        for _ in range(LISTED_SESSIONS):
            main.start_session(user)

    def end_all() -> None:
        ended = main.end_all_sessions(user)
        assert ended == LISTED_SESSIONS, ended

    return Operation(f"end all {LISTED_SESSIONS} of them", end_all, prepare=log_in_everywhere)


def _outage_row(rig: Rig) -> Operation:
    name = "resolve during a Redis outage (database fallback)"
    outage, token = rig.outage, rig.outage_token
    if outage is None:
        return Operation(name, None, unavailable=rig.outage_unavailable)
    return Operation(name, lambda: outage.resolve(token))


def _random_token_row(rig: Rig) -> Operation:
    main = rig.main
    # A well-formed token nobody was issued: it passes parsing and costs a store lookup.
    stranger_key = RoutingKey(secrets.token_bytes(32))
    tokens: list[str] = []

    def new_token() -> None:
        tokens.append(str(issue_token(stranger_key, f"nobody-{secrets.token_hex(4)}")))

    def resolve_it() -> None:
        try:
            main.resolve(tokens.pop())
        except SessionNotFound:
            return
        raise AssertionError("a random token resolved to a session")

    return Operation("resolve of a random token", resolve_it, prepare=new_token)
