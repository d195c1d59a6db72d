"""Section "peers": this library through the web beside the libraries users would pick instead.

Every app is called in process (``in_process.py``), one request per run, interleaved round by
round with the others and with the baseline (one redis-py GET of a session-sized value), all
on a private redis-server and the run's private PostgreSQL schema. A request's *session layer*
is its median minus the median of the same framework's bare app (same views, no sessions),
and "x GET" divides that by the baseline: what the session layer costs in round trips' worth.
Django's function-level rows call its ``SessionStore`` directly (no request: the row is all
session layer).

Counts per request: Redis round trips and SQL statements/transactions as the operation table
counts them (redis-py's synchronous sends; starsessions' asyncio client is not counted there),
and Redis commands as the server counts them (``INFO commandstats`` on the private server, over
separate untimed runs), which sees every client alike.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Protocol

import redis
from attrs import define, field

from benchmarks.baseline import Baseline
from benchmarks.in_process import AsgiApp, AsgiClient, WsgiClient
from benchmarks.operations import connect_two_platforms
from benchmarks.peer_apps import (
    PEER_DATA,
    DjangoApps,
    PeerMissing,
    flask_bare,
    flask_platform_sessions,
    flask_session_redis,
    flask_signed_cookie,
    peer_prefix,
    starlette_bare,
    starlette_platform_sessions,
    starlette_signed_cookie,
    starsessions_redis,
)
from benchmarks.private_redis import private_redis
from benchmarks.storages import Servers, StorageKind, open_facade
from benchmarks.timing import Measured, Operation, interleaved
from platform_sessions.adapters.memory import ManualClock
from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.web.settings import WebSettings

COMMAND_COUNT_RUNS = 10
EVENT_DRAIN_TIMEOUT_S = 5.0
Client = WsgiClient | AsgiClient

# Row names the targets look up.
LIB_READ = "platform-sessions two-tier: read, near cache hit"
LIB_READ_MISS = "platform-sessions two-tier: read, near cache off"
LIB_SWITCH = "platform-sessions two-tier: switch platform"
LIB_START = "platform-sessions two-tier: log in (start)"
LIB_ROTATE = "platform-sessions two-tier: rotate"
LIB_END = "platform-sessions two-tier: log out (end)"
LIB_REDIS_READ = "platform-sessions redis: read, near cache hit"
LIB_REDIS_SWITCH = "platform-sessions redis: switch platform"
DJANGO_VIEW_MODIFY = "Django cached_db view: modify + save"
DJANGO_VIEW_CREATE = "Django cached_db view: create (first write)"
DJANGO_VIEW_CYCLE = "Django cached_db view: cycle_key"
DJANGO_VIEW_FLUSH = "Django cached_db view: flush"
FLASK_SESSION_READ = "Flask-Session (Redis): read"
# Issue 15's rows, one per storage (``framework_row(kind, ...)``).
FLASK_SESSION_OFF = "read, flask.session off"
FLASK_SESSION_UNCHANGED = "flask.session read, unchanged"
FLASK_SESSION_WRITE = "flask.session, one key changed"
STARLETTE_SESSION_UNCHANGED = "Starlette request.session read, unchanged"
STARLETTE_SESSION_WRITE = "Starlette request.session, one key changed"
FRAMEWORK_SESSION_ROWS = (
    FLASK_SESSION_OFF,
    FLASK_SESSION_UNCHANGED,
    FLASK_SESSION_WRITE,
    STARLETTE_SESSION_UNCHANGED,
    STARLETTE_SESSION_WRITE,
)
STARLETTE_BARE_READ = "bare Starlette: read"
STARLETTE_BARE_MODIFY = "bare Starlette: POST"


@define
class PeerRow:
    """One request kind: its runs, the bare row it is measured against, server-side commands."""

    measured: Measured
    bare: str | None  # the name of the bare row to subtract, None: the row is all session layer
    framework: str
    commands_by_name: dict[str, float] | None = None  # per request, at the server

    @property
    def server_commands(self) -> float | None:
        """Commands per request as the server counted them, all names together."""
        return None if self.commands_by_name is None else sum(self.commands_by_name.values())


@define
class PeersResult:
    baseline: Measured
    rows: list[PeerRow]
    bare: dict[str, Measured]
    rounds: int
    value_size: int
    missing: list[str] = field(factory=list)

    def row(self, name: str) -> PeerRow | None:
        return next((r for r in self.rows if r.measured.name == name and r.measured.seconds), None)

    def layer(self, row: PeerRow) -> float:
        """Median seconds of the session layer: the request minus its framework's bare request."""
        bare = self.bare[row.bare].median if row.bare is not None else 0.0
        return row.measured.median - bare

    def layer_ratio(self, name: str) -> float | None:
        row = self.row(name)
        return None if row is None else self.layer(row) / self.baseline.median


@define
class _Case:
    name: str
    framework: str
    bare: str | None
    run: Callable[[], object]
    prepare: Callable[[], None] | None = None
    cleanup: Callable[[], None] | None = None


@define
class _Bench:
    """What the cases are built from: the run's servers, facades and the loop of the ASGI apps."""

    servers: Servers
    stack: ExitStack
    loop: asyncio.AbstractEventLoop
    cases: list[_Case] = field(factory=list)
    bares: list[_Case] = field(factory=list)
    facades: list[PlatformSessions] = field(factory=list)
    missing: list[str] = field(factory=list)

    def facade(self, kind: StorageKind, *, near_cache: bool = True) -> PlatformSessions:
        facade = open_facade(kind, self.servers, clock=ManualClock(), near_cache=near_cache)
        self.stack.callback(facade.close)
        self.facades.append(facade)
        return facade


def measure_peers(servers: Servers, *, rounds: int, warmup: int) -> PeersResult:
    """Build every app that is installed, time them interleaved, count their commands."""
    with ExitStack() as stack:
        server = stack.enter_context(private_redis())
        private = servers.with_redis(server.url)
        loop = asyncio.new_event_loop()
        stack.callback(loop.close)
        bench = _Bench(private, stack, loop)
        _library_cases(bench, StorageKind.TWO_TIER)
        _library_cases(bench, StorageKind.REDIS)
        _peer(bench, "Flask", _flask_cases)
        _peer(bench, "Starlette", _starlette_cases)
        _peer(bench, "Django", _django_cases)
        baseline = Baseline(server.url, private.key_prefix, _session_size())
        stack.callback(baseline.close)
        operations = [baseline.operation()]
        operations += [Operation(c.name, c.run, c.prepare, c.cleanup) for c in [*bench.bares, *bench.cases]]
        measured = interleaved(operations, rounds=rounds, warmup=warmup, settle=lambda: _drain(bench.facades))
        by_name = {m.name: m for m in measured}
        commands = _server_commands(server.url, [*bench.bares, *bench.cases], bench.facades)
        rows = [PeerRow(by_name[c.name], c.bare, c.framework, commands.get(c.name)) for c in bench.cases]
        bare = {c.name: by_name[c.name] for c in bench.bares}
        return PeersResult(measured[0], rows, bare, rounds, baseline.value_size, bench.missing)


def _session_size() -> int:
    import json

    return len(json.dumps(PEER_DATA).encode())


def _peer(bench: _Bench, framework: str, build: Callable[[_Bench], None]) -> None:
    try:
        build(bench)
    except PeerMissing as missing:
        bench.missing.append(f"{framework}: {missing}")


def _drain(facades: list[PlatformSessions]) -> None:
    for facade in facades:
        flush = getattr(facade.events, "flush", None)
        if flush is not None:
            flush(EVENT_DRAIN_TIMEOUT_S)


# --- this library --------------------------------------------------------------------------

FLASK_BARE_READ = "bare Flask: read"
FLASK_BARE_MODIFY = "bare Flask: POST"


def _flask_bare_cases(bench: _Bench) -> None:
    if any(c.name == FLASK_BARE_READ for c in bench.bares):
        return
    client = WsgiClient(flask_bare())
    bench.bares.append(_Case(FLASK_BARE_READ, "Flask", None, lambda: client.request("GET", "/read")))
    bench.bares.append(_Case(FLASK_BARE_MODIFY, "Flask", None, lambda: client.request("POST", "/modify")))


def _library_cases(bench: _Bench, kind: StorageKind) -> None:
    try:
        _flask_bare_cases(bench)
    except PeerMissing as missing:
        bench.missing.append(f"platform-sessions web rows: {missing}")
        return
    label = f"platform-sessions {kind.value}"
    run_id = secrets.token_hex(3)
    cookie = WebSettings().cookie_key
    main = bench.facade(kind)

    def logged_in(
        role: str, facade: PlatformSessions, *, flask_session: bool = True
    ) -> tuple[WsgiClient, dict[str, str]]:
        user = f"bench-{run_id}-{role}"
        platforms = connect_two_platforms(main, user)
        client = WsgiClient(flask_platform_sessions(facade, user, platforms, flask_session=flask_session))
        headers: dict[str, str] = {}

        def log_in() -> None:
            started = main.start_session(user, platform_id=platforms[0])
            client.jar.cookies[cookie] = str(started.token)
            headers["X-CSRF-Token"] = started.context.csrf_token

        log_in()
        logins[role] = log_in
        return client, headers

    logins: dict[str, Callable[[], None]] = {}

    reader, _ = logged_in("reader", main)
    bench.cases.append(
        _Case(
            f"{label}: read, near cache hit", "Flask", FLASK_BARE_READ, lambda: reader.request("GET", "/read")
        )
    )
    _framework_session_cases(
        bench, kind, main, lambda role, flask_session=True: logged_in(role, main, flask_session=flask_session)
    )
    if kind is StorageKind.TWO_TIER:
        uncached = bench.facade(kind, near_cache=False)
        cold_reader, _ = logged_in("misser", uncached)
        bench.cases.append(
            _Case(LIB_READ_MISS, "Flask", FLASK_BARE_READ, lambda: cold_reader.request("GET", "/read"))
        )
    switcher, switch_headers = logged_in("switcher", main)
    bench.cases.append(
        _Case(
            f"{label}: switch platform",
            "Flask",
            FLASK_BARE_MODIFY,
            lambda: _post_echoing(switcher, "/switch", switch_headers),
        )
    )
    if kind is not StorageKind.TWO_TIER:
        return
    _lifecycle_cases(bench, main, logged_in, logins, cookie)


class _LogIn(Protocol):
    """A new user logged in through its own Flask client: the client and its CSRF header."""

    def __call__(self, role: str, flask_session: bool = True) -> tuple[WsgiClient, dict[str, str]]: ...


def _framework_session_cases(
    bench: _Bench,
    kind: StorageKind,
    main: PlatformSessions,
    logged_in: _LogIn,
) -> None:
    """Issue 15's rows: ``flask.session`` (and Starlette's ``request.session``) on this library.

    Beside the read row (the extension's session interface installed, the view reads only
    the context): the same read with Flask's own session interface left in place (the
    extension as it was before issue 15), a read of ``flask.session`` that changes nothing,
    and a write of one key of it. Every session holds ``PEER_DATA`` as its data, as the
    peers' sessions do. The writer's session is read untimed before each write, so that its
    near cache entry (invalidated by the previous run's write) is current again: what is
    counted is the request's write alone, not the read of a session changed a moment ago.
    """
    plain_reader, _ = logged_in("plain-reader", flask_session=False)
    bench.cases.append(
        _Case(
            framework_row(kind, FLASK_SESSION_OFF),
            "Flask",
            FLASK_BARE_READ,
            lambda: _get_ok(plain_reader, "/read"),
        )
    )
    data_reader, _ = logged_in("data-reader")
    _fill_session_data(main, data_reader)
    bench.cases.append(
        _Case(
            framework_row(kind, FLASK_SESSION_UNCHANGED),
            "Flask",
            FLASK_BARE_READ,
            lambda: _get_ok(data_reader, "/session/read"),
        )
    )
    writer, writer_headers = logged_in("data-writer")
    _fill_session_data(main, writer)
    bench.cases.append(
        _Case(
            framework_row(kind, FLASK_SESSION_WRITE),
            "Flask",
            FLASK_BARE_MODIFY,
            lambda: _post_echoing(writer, "/session/modify", writer_headers),
            prepare=lambda: _get_ok(writer, "/read"),
        )
    )
    try:
        _starlette_bare_cases(bench)
    except PeerMissing as missing:
        bench.missing.append(f"platform-sessions request.session rows: {missing}")
        return
    _starlette_session_cases(bench, kind, main, logged_in)


def _starlette_session_cases(
    bench: _Bench,
    kind: StorageKind,
    main: PlatformSessions,
    logged_in: _LogIn,
) -> None:
    app = starlette_platform_sessions(main)
    reader = _as_asgi(logged_in("starlette-reader")[0], app, bench.loop)
    _fill_session_data(main, reader)
    bench.cases.append(
        _Case(
            framework_row(kind, STARLETTE_SESSION_UNCHANGED),
            "Starlette",
            STARLETTE_BARE_READ,
            lambda: _get_ok(reader, "/session/read"),
        )
    )
    wsgi_writer, writer_headers = logged_in("starlette-writer")
    writer = _as_asgi(wsgi_writer, app, bench.loop)
    _fill_session_data(main, writer)
    bench.cases.append(
        _Case(
            framework_row(kind, STARLETTE_SESSION_WRITE),
            "Starlette",
            STARLETTE_BARE_MODIFY,
            lambda: _post_echoing(writer, "/session/modify", writer_headers),
            prepare=lambda: _get_ok(writer, "/read"),
        )
    )


def _as_asgi(logged_in: WsgiClient, app: AsgiApp, loop: asyncio.AbstractEventLoop) -> AsgiClient:
    """A browser on ``app`` holding the cookie ``logged_in`` got at login."""
    client = AsgiClient(app, loop)
    client.jar.cookies.update(logged_in.jar.cookies)
    return client


def _fill_session_data(main: PlatformSessions, client: Client) -> None:
    """Give the client's session the peers' data (untimed), as the peers' sessions hold it."""
    token = next(iter(client.jar.cookies.values()))
    main.write_session_data(token, set=PEER_DATA)


def framework_row(kind: StorageKind, what: str) -> str:
    """The name of an issue-15 row: ``platform-sessions two-tier: flask.session, one key changed``."""
    return f"platform-sessions {kind.value}: {what}"


def _get_ok(client: Client, path: str) -> None:
    response = client.request("GET", path)
    if response.status != 200:
        raise AssertionError(f"GET {path} answered {response.status}: {response.body[:200]!r}")


def _post_echoing(client: Client, path: str, headers: dict[str, str]) -> None:
    """POST with the CSRF token; a view that renewed it hands the new one back in its body."""
    response = client.request("POST", path, headers)
    if response.status != 200:
        raise AssertionError(f"POST {path} answered {response.status}: {response.body[:200]!r}")
    if response.body:
        headers["X-CSRF-Token"] = response.body.decode()


def _lifecycle_cases(
    bench: _Bench,
    main: PlatformSessions,
    logged_in: Callable[[str, PlatformSessions], tuple[WsgiClient, dict[str, str]]],
    logins: dict[str, Callable[[], None]],
    cookie: str,
) -> None:
    rotator, rotate_headers = logged_in("rotator", main)
    bench.cases.append(
        _Case(
            LIB_ROTATE, "Flask", FLASK_BARE_MODIFY, lambda: _post_echoing(rotator, "/rotate", rotate_headers)
        )
    )
    # Log in without a cookie (a new visitor), logged out again untimed; log out a session
    # logged in untimed just before.
    starter, _ = logged_in("starter", main)
    starter.jar.cookies.clear()

    def log_out_untimed() -> None:
        token = starter.jar.cookies.pop(cookie)
        main.end_session(token)

    bench.cases.append(
        _Case(
            LIB_START,
            "Flask",
            FLASK_BARE_MODIFY,
            lambda: _post_echoing(starter, "/login", {}),
            cleanup=log_out_untimed,
        )
    )
    leaver, leave_headers = logged_in("leaver", main)

    def log_in_untimed() -> None:
        if cookie not in leaver.jar.cookies:
            logins["leaver"]()

    bench.cases.append(
        _Case(
            LIB_END,
            "Flask",
            FLASK_BARE_MODIFY,
            lambda: _post_echoing(leaver, "/logout", leave_headers),
            prepare=log_in_untimed,
        )
    )


# --- the peers -----------------------------------------------------------------------------


def _flask_cases(bench: _Bench) -> None:
    _flask_bare_cases(bench)
    prefix = peer_prefix(bench.servers.key_prefix)
    url = bench.servers.redis_url
    apps = [
        ("Flask signed cookie", flask_signed_cookie()),
        ("Flask-Session (Redis)", flask_session_redis(url, prefix)),
        ("Flask-Session (Redis), no refresh", flask_session_redis(url, prefix + "nr:", refresh=False)),
    ]
    for name, app in apps:
        _read_and_modify(
            bench, name, "Flask", WsgiClient(app), bare_read=FLASK_BARE_READ, bare_modify=FLASK_BARE_MODIFY
        )


def _read_and_modify(
    bench: _Bench, name: str, framework: str, client: Client, *, bare_read: str, bare_modify: str
) -> None:
    client.request("POST", "/modify")  # the first write creates the session (and its cookie)
    if not client.jar.cookies:
        raise AssertionError(f"{name} set no cookie")
    bench.cases.append(_Case(f"{name}: read", framework, bare_read, lambda: client.request("GET", "/read")))
    bench.cases.append(
        _Case(f"{name}: modify", framework, bare_modify, lambda: client.request("POST", "/modify"))
    )


def _starlette_bare_cases(bench: _Bench) -> None:
    if any(c.name == STARLETTE_BARE_READ for c in bench.bares):
        return
    bare = AsgiClient(starlette_bare(), bench.loop)
    bench.bares.append(_Case(STARLETTE_BARE_READ, "Starlette", None, lambda: bare.request("GET", "/read")))
    bench.bares.append(
        _Case(STARLETTE_BARE_MODIFY, "Starlette", None, lambda: bare.request("POST", "/modify"))
    )


def _starlette_cases(bench: _Bench) -> None:
    _starlette_bare_cases(bench)
    apps = [("Starlette SessionMiddleware (signed cookie)", starlette_signed_cookie())]
    try:
        apps.append(
            (
                "starsessions (Redis)",
                starsessions_redis(bench.servers.redis_url, peer_prefix(bench.servers.key_prefix)),
            )
        )
    except PeerMissing as missing:
        bench.missing.append(f"starsessions: {missing}")
    for name, app in apps:
        client = AsgiClient(app, bench.loop)
        _read_and_modify(
            bench,
            name,
            "Starlette",
            client,
            bare_read=STARLETTE_BARE_READ,
            bare_modify=STARLETTE_BARE_MODIFY,
        )


def _django_cases(bench: _Bench) -> None:
    django = DjangoApps(
        bench.servers.redis_url, bench.servers.database_url, peer_prefix(bench.servers.key_prefix)
    )
    bench.stack.callback(django.close)
    bare = WsgiClient(django.bare)
    bench.bares.append(_Case("bare Django", "Django", None, lambda: bare.request("GET", "/bare")))
    bench.bares.append(_Case("bare Django: POST", "Django", None, lambda: bare.request("POST", "/bare")))
    view = WsgiClient(django.handler)
    _read_and_modify(
        bench,
        "Django cached_db view",
        "Django",
        view,
        bare_read="bare Django",
        bare_modify="bare Django: POST",
    )
    bench.cases[-1].name = DJANGO_VIEW_MODIFY

    # A new visitor's first write creates the session; the cookie is dropped afterwards.
    creator = WsgiClient(django.handler)
    bench.cases.append(
        _Case(
            DJANGO_VIEW_CREATE,
            "Django",
            "bare Django: POST",
            lambda: creator.request("POST", "/modify"),
            cleanup=creator.jar.cookies.clear,
        )
    )
    cycler = WsgiClient(django.handler)
    cycler.request("POST", "/modify")
    bench.cases.append(
        _Case(DJANGO_VIEW_CYCLE, "Django", "bare Django: POST", lambda: cycler.request("POST", "/cycle"))
    )
    flusher = WsgiClient(django.handler)

    def flusher_logged_in() -> None:
        if not flusher.jar.cookies:
            flusher.request("POST", "/modify")

    bench.cases.append(
        _Case(
            DJANGO_VIEW_FLUSH,
            "Django",
            "bare Django: POST",
            lambda: flusher.request("POST", "/flush"),
            prepare=flusher_logged_in,
        )
    )
    _django_function_cases(bench, django)


def _django_function_cases(bench: _Bench, django: DjangoApps) -> None:
    store_class = django.store

    def saved_key() -> str:
        store = store_class()
        store.update(PEER_DATA)
        store.save()
        return str(store.session_key)

    key = saved_key()

    def load() -> None:
        store_class(key).load()

    def modify() -> None:
        store = store_class(key)
        store["n"] = int(store.get("n", 0)) + 1
        store.save()

    cycled = [saved_key()]  # its own: a cycled key is gone, the load and modify rows keep theirs

    def cycle() -> None:
        store = store_class(cycled[0])
        store.load()
        store.cycle_key()
        cycled[0] = store.session_key

    flushed: list[str] = []

    def flush() -> None:
        store_class(flushed.pop()).flush()

    label = "Django cached_db SessionStore"
    bench.cases += [
        _Case(f"{label}: load", "Django", None, load),
        _Case(f"{label}: modify + save", "Django", None, modify),
        _Case(f"{label}: create", "Django", None, saved_key),
        _Case(f"{label}: cycle_key", "Django", None, cycle),
        _Case(f"{label}: flush", "Django", None, flush, prepare=lambda: flushed.append(saved_key())),
    ]


# --- counting at the server ----------------------------------------------------------------


def _server_commands(
    redis_url: str, cases: list[_Case], facades: list[PlatformSessions]
) -> dict[str, dict[str, float]]:
    """Commands per request by name as the server counts them, over runs of each case alone.

    A script's own calls count under their names (Redis counts the ``HSET`` inside an
    ``EVALSHA`` as an ``hset`` too), so a script shows as ``evalsha`` plus what it ran.
    """
    counts: dict[str, dict[str, float]] = {}
    with _info_client(redis_url) as info:
        for case in cases:
            total: Counter[str] = Counter()
            for _ in range(COMMAND_COUNT_RUNS):
                if case.prepare is not None:
                    case.prepare()
                _drain(facades)
                before = _calls(info)
                case.run()
                total.update(_calls(info))
                total.subtract(before)
                total["info"] -= 1  # the INFO that read "before"
                if case.cleanup is not None:
                    case.cleanup()
                _drain(facades)
            counts[case.name] = {name: n / COMMAND_COUNT_RUNS for name, n in sorted(total.items()) if n}
    return counts


@contextmanager
def _info_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        client.close()


def _calls(client: redis.Redis) -> Counter[str]:
    stats = client.info("commandstats")
    return Counter(
        {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items() if isinstance(v, dict)}
    )
