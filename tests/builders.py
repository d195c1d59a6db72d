"""Test data builders: valid objects with overridable fields."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import attrs

from platform_sessions.adapters.system_clock import SystemClock
from platform_sessions.domain.client import ClientInfo
from platform_sessions.domain.platform import PlatformConnection
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import Clock
from platform_sessions.domain.routing import RoutingKey, issue_anonymous_token, issue_token
from platform_sessions.domain.session import UserSession
from platform_sessions.entrypoints.container import OpenStorage, Wiring
from platform_sessions.entrypoints.facade import PlatformSessions

ROUTING_KEY = RoutingKey(b"test-routing-key-0123456789abcdef")
_counter = itertools.count(1)


def a_session(
    *, user_id: str = "alice", now: datetime, policy: SessionPolicy, **overrides: Any
) -> UserSession:
    """A new, unstored session for ``user_id`` started at ``now``."""
    token = issue_token(ROUTING_KEY, user_id)
    fields: dict[str, Any] = {
        "user_id": user_id,
        "token_digest": token.digest,
        "now": now,
        "policy": policy,
        "client": ClientInfo(user_agent="pytest", ip_address="127.0.0.1"),
    }
    fields.update(overrides)
    return UserSession.start(**fields)


def a_platform(*, user_id: str = "alice", **overrides: Any) -> PlatformConnection:
    """A valid active platform connection with a unique account."""
    number = next(_counter)
    fields: dict[str, Any] = {
        "user_id": user_id,
        "name": f"Account {number}",
        "platform_type": "mastodon",
        "instance_url": f"https://instance{number}.example",
        "username": f"user{number}",
    }
    fields.update({k: v for k, v in overrides.items() if k in fields})
    platform = PlatformConnection.connect(**fields)
    rest = {k: v for k, v in overrides.items() if k not in fields}
    if rest:
        platform = attrs.evolve(platform, **rest)
    return platform


def an_anonymous_session(*, now: datetime, policy: SessionPolicy, **overrides: Any) -> UserSession:
    """A new, unstored visitor's session started at ``now`` (data ``{"cart": [1]}`` unless given)."""
    fields: dict[str, Any] = {
        "token_digest": issue_anonymous_token().digest,
        "now": now,
        "policy": policy,
        "data": {"cart": [1]},
        "client": ClientInfo(user_agent="pytest", ip_address="127.0.0.1"),
    }
    fields.update(overrides)
    return UserSession.start_anonymous(**fields)


def a_wiring(*, policy: SessionPolicy, clock: Clock | None = None) -> Wiring:
    """What ``bootstrap`` hands a storage builder, with the tests' routing key."""
    return Wiring(policy=policy, routing_key=ROUTING_KEY, clock=clock or SystemClock())


def sessions_on(storage: OpenStorage, *, policy: SessionPolicy) -> PlatformSessions:
    """The facade on an opened storage, as ``bootstrap`` builds it."""
    return PlatformSessions(storage, policy=policy, routing_key=ROUTING_KEY)
