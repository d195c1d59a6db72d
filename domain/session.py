"""The user session entity: who is logged in, on which platform, until when.

A :class:`UserSession` is immutable; changes are expressed as :class:`SessionChanges` and
applied by a store together with a version check, so two requests never overwrite each
other's data (the lost updates of whole-blob session stores).
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Literal

import attrs
from attrs import field, frozen

from platform_sessions.domain.attributes import JsonValue, checked_attributes
from platform_sessions.domain.client import ClientInfo
from platform_sessions.domain.errors import ExpiryReason, InvalidInput, NotLoggedIn
from platform_sessions.domain.ids import PlatformId, SessionId, UserId, new_session_id
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.session_data import SessionDataChanges, checked_data
from platform_sessions.domain.token import TokenDigest

FIRST_VERSION = 1


class Unchanged(enum.Enum):
    """Marks a field of :class:`SessionChanges` that the change leaves alone."""

    UNCHANGED = "unchanged"


UNCHANGED: Literal[Unchanged.UNCHANGED] = Unchanged.UNCHANGED


def _redacted(_: object) -> str:
    # A live credential never goes into a log line or a traceback through a repr.
    return "'<redacted>'"


def _read_only(value: Mapping[str, JsonValue]) -> Mapping[str, JsonValue]:
    return MappingProxyType(dict(value))


def _checked_data(data: Mapping[str, JsonValue] | None, policy: SessionPolicy) -> dict[str, JsonValue]:
    return checked_data(data, max_bytes=policy.max_data_bytes, max_value_bytes=policy.max_data_value_bytes)


def checked_lifetime(lifetime: timedelta | None, policy: SessionPolicy) -> timedelta:
    """A login's absolute lifetime: positive and at most the policy's (the default), else
    :class:`InvalidInput`."""
    if lifetime is None:
        return policy.absolute_lifetime
    if not isinstance(lifetime, timedelta) or lifetime <= timedelta(0):
        raise InvalidInput("lifetime must be a positive duration")
    if lifetime > policy.absolute_lifetime:
        raise InvalidInput("lifetime cannot exceed the policy's absolute_lifetime")
    return lifetime


def new_csrf_token() -> str:
    """A synchronizer token for forms and unsafe requests of this session (256 bits)."""
    return secrets.token_urlsafe(32)


@frozen
class SessionChanges:
    """The fields one versioned update writes; everything else stays as stored."""

    active_platform_id: PlatformId | Unchanged | None = UNCHANGED
    attributes: Mapping[str, JsonValue] | Unchanged = field(default=UNCHANGED)
    csrf_token: str | Unchanged = UNCHANGED

    @attributes.validator
    def _check_attributes(self, _: object, value: Mapping[str, JsonValue] | Unchanged) -> None:
        if not isinstance(value, Unchanged):
            checked_attributes(value)

    @property
    def is_empty(self) -> bool:
        """Whether the change would write nothing."""
        return all(
            isinstance(value, Unchanged)
            for value in (self.active_platform_id, self.attributes, self.csrf_token)
        )


@frozen
class UserSession:
    """A user's session, or a visitor's (``user_id is None``: an anonymous session).

    ``session_id`` is stable for the session's whole life and never leaves the server; the
    token (of which stores see only ``token_digest``) may be rotated. ``version`` counts the
    stored changes of the session (its fields and its ``data``); a touch (``last_seen_at``) is
    not one, so frequent touches never make a concurrent switch fail.

    ``data`` is the application's mutable data (see :mod:`~platform_sessions.domain.session_data`),
    ``attributes`` the read-only map set at login. ``persistent_cookie`` is ``False`` for a
    login that asked for a browser-session cookie (no ``Max-Age``); rotations keep it.

    An anonymous session has no platform, is in no user's index, never counts against a
    user's session limit, and expires by the policy's anonymous deadlines.
    """

    session_id: SessionId
    token_digest: TokenDigest
    user_id: UserId | None
    active_platform_id: PlatformId | None
    created_at: datetime
    last_seen_at: datetime
    absolute_expires_at: datetime
    version: int
    csrf_token: str = field(repr=_redacted)
    client: ClientInfo = field(factory=ClientInfo)
    # A read-only view: a session read from a store cannot be changed behind the store's back.
    attributes: Mapping[str, JsonValue] = field(factory=dict, converter=_read_only)
    data: Mapping[str, JsonValue] = field(factory=dict, converter=_read_only)
    persistent_cookie: bool = True

    @classmethod
    def start(
        cls,
        *,
        user_id: UserId,
        token_digest: TokenDigest,
        now: datetime,
        policy: SessionPolicy,
        active_platform_id: PlatformId | None = None,
        client: ClientInfo | None = None,
        attributes: Mapping[str, JsonValue] | None = None,
        lifetime: timedelta | None = None,
        persistent_cookie: bool = True,
        data: Mapping[str, JsonValue] | None = None,
    ) -> UserSession:
        """A new session, not yet stored, at version 1.

        ``lifetime`` is this login's absolute lifetime ("remember me"): positive and at most
        the policy's ``absolute_lifetime`` (its default), else :class:`InvalidInput`.
        """
        lifetime = checked_lifetime(lifetime, policy)
        return cls(
            session_id=new_session_id(),
            token_digest=token_digest,
            user_id=user_id,
            active_platform_id=active_platform_id,
            created_at=now,
            last_seen_at=now,
            absolute_expires_at=now + lifetime,
            version=FIRST_VERSION,
            csrf_token=new_csrf_token(),
            client=client or ClientInfo(),
            attributes=checked_attributes(attributes),
            data=_checked_data(data, policy),
            persistent_cookie=bool(persistent_cookie),
        )

    @classmethod
    def start_anonymous(
        cls,
        *,
        token_digest: TokenDigest,
        now: datetime,
        policy: SessionPolicy,
        data: Mapping[str, JsonValue],
        client: ClientInfo | None = None,
    ) -> UserSession:
        """A new visitor's session, not yet stored, at version 1, living by the policy's
        anonymous deadlines."""
        return cls(
            session_id=new_session_id(),
            token_digest=token_digest,
            user_id=None,
            active_platform_id=None,
            created_at=now,
            last_seen_at=now,
            absolute_expires_at=now + policy.anonymous_lifetime,
            version=FIRST_VERSION,
            csrf_token=new_csrf_token(),
            client=client or ClientInfo(),
            data=_checked_data(data, policy),
        )

    @property
    def is_anonymous(self) -> bool:
        """Whether this is a visitor's session (no user logged in)."""
        return self.user_id is None

    @property
    def logged_in_user_id(self) -> UserId:
        """The user logged in on this session, for code that only users reach; raises
        :class:`NotLoggedIn` (a :class:`SessionNotFound`) for an anonymous session."""
        if self.user_id is None:
            raise NotLoggedIn("no user is logged in on an anonymous session")
        return self.user_id

    @property
    def handle(self) -> str:
        """A public name for this session (for "your sessions" pages and events).

        Derived one-way from the internal id, so it is stable across token rotation and
        reveals neither the id nor the token.
        """
        return hashlib.sha256(b"handle\x00" + self.session_id.encode("ascii")).hexdigest()[:24]

    def idle_timeout(self, policy: SessionPolicy) -> timedelta:
        """The idle timeout that applies to this session (the anonymous one for a visitor)."""
        return policy.anonymous_idle_timeout if self.user_id is None else policy.idle_timeout

    def idle_expires_at(self, policy: SessionPolicy) -> datetime:
        """When the session ends if it is not seen again."""
        return self.last_seen_at + self.idle_timeout(policy)

    def expires_at(self, policy: SessionPolicy) -> datetime:
        """The earlier of the idle and the absolute deadline."""
        return min(self.idle_expires_at(policy), self.absolute_expires_at)

    def expiry_reason(self, now: datetime, policy: SessionPolicy) -> ExpiryReason | None:
        """Which deadline has passed at ``now``, if any (the absolute one wins a tie)."""
        if now >= self.absolute_expires_at:
            return ExpiryReason.ABSOLUTE
        if now >= self.idle_expires_at(policy):
            return ExpiryReason.IDLE
        return None

    def is_touch_due(self, now: datetime, policy: SessionPolicy) -> bool:
        """Whether ``last_seen_at`` is older than the touch interval (so a write is worth it)."""
        return now - self.last_seen_at >= policy.touch_interval

    def remaining(self, now: datetime, policy: SessionPolicy) -> timedelta:
        """How long the session has left at ``now`` (what a store's TTL should be)."""
        return max(self.expires_at(policy) - now, timedelta(0))

    def apply(self, changes: SessionChanges) -> UserSession:
        """The session after ``changes``, one version later (what a store's update computes)."""
        updated = self
        if not isinstance(changes.active_platform_id, Unchanged):
            updated = attrs.evolve(updated, active_platform_id=changes.active_platform_id)
        if not isinstance(changes.attributes, Unchanged):
            updated = attrs.evolve(updated, attributes=checked_attributes(changes.attributes))
        if not isinstance(changes.csrf_token, Unchanged):
            updated = attrs.evolve(updated, csrf_token=changes.csrf_token)
        return attrs.evolve(updated, version=self.version + 1)

    def with_data(self, changes: SessionDataChanges) -> UserSession:
        """The session after a data write, one version later (what a store's ``write_data``
        computes from the data as stored)."""
        return attrs.evolve(self, data=changes.applied_to(self.data), version=self.version + 1)

    def rotated(self, new_digest: TokenDigest, new_csrf_token: str) -> UserSession:
        """The same session under a new token and a new CSRF token, one version later."""
        return attrs.evolve(
            self, token_digest=new_digest, csrf_token=new_csrf_token, version=self.version + 1
        )

    def touched(self, seen_at: datetime) -> UserSession:
        """The session seen at ``seen_at``; never moves ``last_seen_at`` backwards."""
        return attrs.evolve(self, last_seen_at=max(self.last_seen_at, seen_at))
