"""The ``platform-sessions`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from platform_sessions.adapters.memory import InMemoryEventPublisher
from platform_sessions.domain.errors import PlatformSessionsError
from platform_sessions.entrypoints.bootstrap import bootstrap
from platform_sessions.entrypoints.demo_walkthrough import describe_event, run_walkthrough


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="platform-sessions",
        description="User sessions across several connected platform accounts.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("demo", help="walk through the session lifecycle on the embedded storage")
    return parser


def _demo() -> int:
    publisher = InMemoryEventPublisher()
    publisher.subscribe(lambda event: print(f"      event: {describe_event(event)}"))
    sessions = bootstrap(storage="memory", event_publisher=publisher)
    print("platform-sessions demo: the lifecycle of a user session, on in-memory storage\n")
    run_walkthrough(sessions)
    print("\nDone. Every step above went through the same use cases a web application calls.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    arguments = _build_parser().parse_args(argv)
    try:
        if arguments.command == "demo":
            return _demo()
    except PlatformSessionsError as error:
        # One clear line and a non-zero status; a traceback helps nobody at a prompt.
        print(f"platform-sessions: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
