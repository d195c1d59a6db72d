"""The ``platform-sessions`` command line: the demo, and the operators' commands.

Storage comes from the same settings ``bootstrap()`` reads (``Settings.from_environment``:
``PLATFORM_SESSIONS_REDIS_URL``, ``_REDIS_CLUSTER_NODES``, ``_DATABASE_URL``, ``_ROUTING_KEY``,
``_ROUTING_KEY_FILE``, ``_TABLE_PREFIX``), each overridden by its option (``--redis-url``,
``--database-url``, ``--routing-key``, ``--routing-key-file``, ``--table-prefix``), so an
operator command with the application's environment acts on the application's store; every
command that opens a store first says which on stderr (``storage: sql sqlite:///…``, no
passwords). Without any store configured the default is the application's: the SQLite file
``platform-sessions.sqlite3`` in the working directory, used if it exists, and never created
by an operator command (nor is any other SQLite file, nor migrated: ``db upgrade`` does that).
Errors are one line on stderr and a non-zero exit status; ``PLATFORM_SESSIONS_DEBUG=1`` shows
the traceback of an unexpected one.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from platform_sessions.domain.errors import InvalidSetting, PlatformSessionsError
from platform_sessions.entrypoints.cli_progress import ProgressBar, elapsed_since
from platform_sessions.entrypoints.settings import (
    DATABASE_URL_ENV,
    DEFAULT_DATABASE_FILE,
    REDIS_URL_ENV,
    ROUTING_KEY_ENV,
    ROUTING_KEY_FILE_ENV,
    TABLE_PREFIX_ENV,
    Settings,
    StoragePlan,
    plan_storage,
    redacted_url,
    routing_key_file,
    routing_key_text,
)

if TYPE_CHECKING:
    from platform_sessions.entrypoints.facade import PlatformSessions

# The storages (bootstrap: dependency-injector, whose wiring imports FastAPI when installed;
# SQLAlchemy, Alembic, redis-py) are imported by the commands that open one, never at import:
# `--help`, a usage error and `walkthrough` stay fast.

PROGRAM = "platform-sessions"
DEBUG_ENV = "PLATFORM_SESSIONS_DEBUG"
DEFAULT_DEMO_PORT = 8000

masked = redacted_url  # ``url`` without its password, for printing


class CliError(Exception):
    """A failure to report as one line, without a traceback."""


# --- settings -----------------------------------------------------------------------------

# option attribute, the variable it overrides, the Settings field it sets
_STORE_OPTIONS = (
    ("redis_url", REDIS_URL_ENV, "redis_url"),
    ("database_url", DATABASE_URL_ENV, "database_url"),
    ("table_prefix", TABLE_PREFIX_ENV, "table_prefix"),
)


def command_settings(arguments: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    """The environment's settings, each overridden by its option where one is given."""
    merged = dict(environ)
    flagged: dict[str, str] = {}
    for attribute, variable, field in _STORE_OPTIONS:
        value = getattr(arguments, attribute, None)
        if value:
            merged[variable] = value
            flagged[field] = "--" + attribute.replace("_", "-")
    key_text, key_file = getattr(arguments, "routing_key", None), getattr(arguments, "routing_key_file", None)
    if key_text or key_file:
        # An option replaces the environment's key, given either way.
        merged.pop(ROUTING_KEY_ENV, None)
        merged.pop(ROUTING_KEY_FILE_ENV, None)
    try:
        settings = Settings.from_environment(merged)
    except InvalidSetting as error:
        # A value an option gave is reported under the option's name, not the variable's.
        flag = next((f for a, v, f in _flags(flagged) if v == error.setting), None)
        if flag is None:
            raise
        raise InvalidSetting(flag, str(error).removeprefix(f"{error.setting}: ")) from None
    settings = attrs.evolve(settings, sources={**settings.sources, **flagged})
    if key_text and key_file:
        raise CliError("give --routing-key or --routing-key-file, not both")
    if key_text:
        settings = settings.with_routing_key(routing_key_text(key_text, "--routing-key"), "--routing-key")
    elif key_file:
        settings = settings.with_routing_key(
            routing_key_file(key_file, "--routing-key-file"), "--routing-key-file"
        )
    return settings


def _flags(flagged: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(attribute, variable, option) of each option given."""
    return [(a, v, flagged[f]) for a, v, f in _STORE_OPTIONS if f in flagged]


def existing_store(settings: Settings) -> StoragePlan:
    """The storage an operator command acts on; refused where it would create a store."""
    plan = plan_storage(settings)
    if not settings.has_store and not Path(DEFAULT_DATABASE_FILE).exists():
        raise CliError(
            f"no store configured: give --database-url / --redis-url (or ${DATABASE_URL_ENV} / "
            f"${REDIS_URL_ENV}), or run in the directory of the application's {DEFAULT_DATABASE_FILE} "
            f"(there is none in {Path.cwd()})"
        )
    missing = _missing_sqlite_file(plan.database_url)
    if missing is not None:
        raise CliError(
            f"no SQLite database at {missing}: an operator command does not create one "
            f"(`{PROGRAM} db upgrade` does, or the application's bootstrap())"
        )
    return plan


def _missing_sqlite_file(database_url: str | None) -> str | None:
    if database_url is None:
        return None
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    path = Path(url.database)
    return None if path.exists() else str(path.absolute())


def open_sessions(settings: Settings, *, operator: bool = True) -> PlatformSessions:
    """``bootstrap(settings=...)``; an operator command (``operator``) first says on stderr which
    store it acts on, acts on an existing store only, and never migrates it. (The demo names
    its store on its own first lines.)"""
    from platform_sessions.entrypoints.bootstrap import bootstrap

    if not operator:
        return bootstrap(settings=settings)
    plan = existing_store(settings)
    print(f"storage: {plan.description}", file=sys.stderr, flush=True)
    return bootstrap(settings=settings, migrate=False)


def describe_storage(settings: Settings) -> str:
    """E.g. ``"two-tier redis://127.0.0.1:6379/0 + postgresql+psycopg://app:***@db/app"``."""
    return plan_storage(settings).description


# --- commands -----------------------------------------------------------------------------


def _demo_workers(arguments: argparse.Namespace, settings: Settings) -> int:
    from platform_sessions.entrypoints.web.demo.workers import (
        open_worker_sessions,
        serve_demo_workers,
        worker_settings,
    )

    shared = worker_settings(settings)
    try:
        return serve_demo_workers(
            open_worker_sessions(shared),
            workers=arguments.workers,
            port=arguments.port,
            open_browser=not arguments.no_browser,
            storage=describe_storage(shared),
        )
    except OSError as error:
        raise CliError(
            f"cannot serve on 127.0.0.1:{arguments.port} ({error.strerror or error}); "
            "pick another port with --port"
        ) from None


def _walkthrough(_: argparse.Namespace, __: Settings) -> int:
    from platform_sessions.adapters.memory import InMemoryEventPublisher
    from platform_sessions.entrypoints.bootstrap import bootstrap
    from platform_sessions.entrypoints.demo_walkthrough import describe_event, run_walkthrough

    # Always in memory: the walkthrough invents users, which a real store should not get.
    publisher = InMemoryEventPublisher()
    publisher.subscribe(lambda event: print(f"      event: {describe_event(event)}"))
    with bootstrap(storage="memory", event_publisher=publisher) as sessions:
        print("platform-sessions walkthrough: the lifecycle of a user session, on in-memory storage\n")
        run_walkthrough(sessions)
        print("\nDone. Every step above went through the same use cases a web application calls.")
    return 0


def _demo(arguments: argparse.Namespace, settings: Settings) -> int:
    # Imported here: the demo's modules are only needed by this command.
    from platform_sessions.entrypoints.web.demo import serve_demo

    if arguments.workers > 1:
        return _demo_workers(arguments, settings)
    # The demo is an application: like bootstrap(), it creates the default store if need be.
    with open_sessions(settings, operator=False) as sessions:
        try:
            serve_demo(
                sessions,
                port=arguments.port,
                open_browser=not arguments.no_browser,
                storage=describe_storage(settings),
            )
        except OSError as error:
            raise CliError(
                f"cannot serve on 127.0.0.1:{arguments.port} ({error.strerror or error}); "
                "pick another port with --port"
            ) from None
    return 0


def _db_upgrade(_: argparse.Namespace, settings: Settings) -> int:
    database = settings.database_url
    if database is None and not settings.has_redis and Path(DEFAULT_DATABASE_FILE).exists():
        database = plan_storage(settings).database_url  # the application's default file, here
    if database is None:
        raise CliError(f"db upgrade needs --database-url or {DATABASE_URL_ENV}")
    from platform_sessions.adapters.sqlalchemy import upgrade_database

    started = time.perf_counter()
    upgrade_database(database, table_prefix=settings.table_prefix)
    print(f"database at {masked(database)} is at the current schema ({elapsed_since(started)})")
    return 0


_SESSION_ROW = "{:<24}  {:<19}  {:<19}  {:<15}  {:<24}  {}"


def _sessions_list(arguments: argparse.Namespace, settings: Settings) -> int:
    with open_sessions(settings) as sessions:
        summaries = sessions.list_sessions(arguments.user_id)
    if not summaries:
        print(f"no live sessions for user {arguments.user_id!r}")
        return 0
    print(_SESSION_ROW.format("HANDLE", "LAST SEEN (UTC)", "EXPIRES (UTC)", "IP", "PLATFORM", "DEVICE"))
    for s in summaries:
        print(
            _SESSION_ROW.format(
                s.handle,
                f"{s.last_seen_at:%Y-%m-%d %H:%M:%S}",
                f"{s.expires_at:%Y-%m-%d %H:%M:%S}",
                s.client.ip_address or "-",
                s.active_platform_id or "-",
                s.client.user_agent or "-",
            )
        )
    print(f"{len(summaries)} live session{'' if len(summaries) == 1 else 's'} for user {arguments.user_id!r}")
    return 0


def _sessions_end_all(arguments: argparse.Namespace, settings: Settings) -> int:
    with open_sessions(settings) as sessions:
        ended = sessions.end_all_sessions(arguments.user_id)
    print(f"ended {ended} session{'' if ended == 1 else 's'} of user {arguments.user_id!r}")
    return 0


def _purge_expired(arguments: argparse.Namespace, settings: Settings) -> int:
    with open_sessions(settings) as sessions:
        progress = ProgressBar("purging expired sessions", sys.stderr)
        started = time.perf_counter()
        try:
            purged = progress.spinning_while(lambda: sessions.purge_expired(batch_size=arguments.batch_size))
        finally:
            progress.close()
    print(
        f"purged {purged} expired session{'' if purged == 1 else 's'} in {elapsed_since(started)} "
        f"(batches of {arguments.batch_size})"
    )
    return 0


def _rewarm(_: argparse.Namespace, settings: Settings) -> int:
    with open_sessions(settings) as sessions:
        progress = ProgressBar("loading live sessions into Redis", sys.stderr)
        started = time.perf_counter()
        try:
            loaded = sessions.rewarm(progress=progress.update)
        finally:
            progress.close()
    print(f"rewarm done in {elapsed_since(started)}: {loaded}")
    return 0


def _health(_: argparse.Namespace, settings: Settings) -> int:
    with open_sessions(settings) as sessions:
        report = sessions.health()
    for key, value in attrs.asdict(report, filter=lambda field, _: field.name != "problems").items():
        print(f"{key}: {value}")
    for problem in report.problems:
        print(f"problem: {problem}")
    return 0 if report.healthy else 1


# --- parsing ------------------------------------------------------------------------------


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is between 0 and 65535, not {port}")
    return port


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


Command = Callable[[argparse.Namespace, Settings], int]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (each command's function is in ``run``)."""
    # The storage options are accepted before or after the command name; SUPPRESS keeps a
    # subcommand from overwriting a value given before it.
    storage = argparse.ArgumentParser(add_help=False)
    storage.add_argument(
        "--redis-url", default=argparse.SUPPRESS, metavar="URL", help=f"Redis to use (or ${REDIS_URL_ENV})"
    )
    storage.add_argument(
        "--database-url",
        default=argparse.SUPPRESS,
        metavar="URL",
        help=f"SQLAlchemy database URL to use (or ${DATABASE_URL_ENV})",
    )
    storage.add_argument(
        "--routing-key-file",
        default=argparse.SUPPRESS,
        metavar="PATH",
        help=f"file holding the application's routing key (or ${ROUTING_KEY_FILE_ENV})",
    )
    storage.add_argument(
        "--routing-key",
        default=argparse.SUPPRESS,
        metavar="KEY",
        help=f"the routing key itself (or ${ROUTING_KEY_ENV}); other users may see it in the "
        "process list: prefer --routing-key-file",
    )
    storage.add_argument(
        "--table-prefix",
        default=argparse.SUPPRESS,
        metavar="PREFIX",
        help=f"the application's table prefix (or ${TABLE_PREFIX_ENV}; default ps_)",
    )
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="User sessions across several connected platform accounts.",
        parents=[storage],
        epilog=(
            f"Without a storage option or variable, commands act on {DEFAULT_DATABASE_FILE} in the "
            "working directory (the application's default), if it exists."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", parents=[storage], help="serve the demo web application on 127.0.0.1")
    demo.add_argument(
        "--port", type=_port, default=DEFAULT_DEMO_PORT, help="port (default 8000; 0 picks one)"
    )
    demo.add_argument("--no-browser", action="store_true", help="do not open a browser")
    demo.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="worker processes (default 1); more than one needs --redis-url (and a shared "
        "--database-url, by default the demo's SQLite file)",
    )
    demo.set_defaults(run=_demo)

    walkthrough = commands.add_parser("walkthrough", help="print a session's whole lifecycle, in memory")
    walkthrough.set_defaults(run=_walkthrough)

    database = commands.add_parser("db", help="database schema")
    database_commands = database.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    upgrade = database_commands.add_parser("upgrade", parents=[storage], help="upgrade to the current schema")
    upgrade.set_defaults(run=_db_upgrade)

    sessions = commands.add_parser("sessions", help="a user's sessions")
    sessions_commands = sessions.add_subparsers(dest="sessions_command", required=True, metavar="COMMAND")
    listing = sessions_commands.add_parser("list", parents=[storage], help="list a user's live sessions")
    listing.add_argument("user_id", metavar="USER_ID")
    listing.set_defaults(run=_sessions_list)
    end_all = sessions_commands.add_parser("end-all", parents=[storage], help="end all of a user's sessions")
    end_all.add_argument("user_id", metavar="USER_ID")
    end_all.set_defaults(run=_sessions_end_all)

    purge = commands.add_parser("purge-expired", parents=[storage], help="delete expired sessions in batches")
    purge.add_argument("--batch-size", type=_positive, default=1000, help="sessions per batch (default 1000)")
    purge.set_defaults(run=_purge_expired)

    rewarm = commands.add_parser("rewarm", parents=[storage], help="load all live sessions into Redis")
    rewarm.set_defaults(run=_rewarm)

    health = commands.add_parser("health", parents=[storage], help="storage reachability and counters")
    health.set_defaults(run=_health)
    return parser


def main(argv: Sequence[str] | None = None, *, environ: Mapping[str, str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failed, 2 usage)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    environment = os.environ if environ is None else environ
    arguments = build_parser().parse_args(argv)
    command: Command = arguments.run
    try:
        return command(arguments, command_settings(arguments, environment))
    except KeyboardInterrupt:
        print(f"{PROGRAM}: interrupted", file=sys.stderr)
        return 130
    except (CliError, PlatformSessionsError) as error:
        # One clear line and a non-zero status; a traceback helps nobody at a prompt.
        print(f"{PROGRAM}: {_error_line(error)}", file=sys.stderr)
        return 1
    except Exception as error:
        if environment.get(DEBUG_ENV) == "1":
            raise
        print(
            f"{PROGRAM}: {type(error).__name__}: {_error_line(error)} ({DEBUG_ENV}=1 shows details)",
            file=sys.stderr,
        )
        return 1


def _error_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, PlatformSessionsError):
        text = f"{type(error).__name__}: {text}"
    return text


if __name__ == "__main__":
    sys.exit(main())
