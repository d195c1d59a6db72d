"""Helpers for the web tests: a facade on in-memory storage, connected platforms, cookie parsing."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType

import pytest
from attrs import frozen

from platform_sessions.adapters.memory import ManualClock
from platform_sessions.domain.platform import PlatformConnection
from platform_sessions.entrypoints import PlatformSessions, bootstrap

REPOSITORY = Path(__file__).resolve().parents[2]


@frozen
class Alice:
    """A user with two active platforms and a deactivated one, plus another user's platform."""

    mastodon: PlatformConnection
    pixelfed: PlatformConnection
    retired: PlatformConnection
    bobs: PlatformConnection


def connect_platforms(sessions: PlatformSessions) -> Alice:
    """Alice's Mastodon (default), Pixelfed and a deactivated Friendica; Bob's Mastodon."""

    def connect(user: str, name: str, kind: str) -> PlatformConnection:
        return sessions.connect_platform(
            user, name=name, platform_type=kind, instance_url=f"https://{kind}.example", username=user
        )

    mastodon = connect("alice", "Mastodon", "mastodon")
    pixelfed = connect("alice", "Pixelfed", "pixelfed")
    retired = connect("alice", "Friendica", "friendica")
    sessions.deactivate_platform("alice", retired.id)
    return Alice(
        mastodon=mastodon, pixelfed=pixelfed, retired=retired, bobs=connect("bob", "Mastodon", "mastodon")
    )


def memory_sessions(clock: ManualClock) -> PlatformSessions:
    """The in-memory storage, on a clock the test moves."""
    return bootstrap(storage="memory", clock=clock)


def unreachable_store_sessions() -> PlatformSessions:
    """A real storage whose server is down, so every read raises StoreUnavailable.

    The SQL storage pointed at a loopback port where nothing listens: the driver is refused at
    once. (No fake: the facade and its adapters are the real ones.)
    """
    if "database_url" not in inspect.signature(bootstrap).parameters:
        pytest.skip("needs the SQL storage to stand for an unreachable store")
    return bootstrap(database_url="postgresql+psycopg://nobody@127.0.0.1:9/none")


@frozen
class SetCookie:
    """A parsed ``Set-Cookie`` header."""

    name: str
    value: str
    attributes: dict[str, str]  # lowercase names; flags map to ""

    @classmethod
    def parse(cls, header: str) -> SetCookie:
        pair, *rest = [part.strip() for part in header.split(";")]
        name, _, value = pair.partition("=")
        attributes = {}
        for part in rest:
            key, _, attribute_value = part.partition("=")
            attributes[key.lower()] = attribute_value
        return cls(name, value, attributes)


def load_example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` (examples are scripts, not a package)."""
    path = REPOSITORY / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"examples_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
