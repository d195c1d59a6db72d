"""A user's connection to an account on an external platform (a Mastodon or Pixelfed account).

Credentials (OAuth tokens and the like) are deliberately not part of this entity: the library
caches and returns only what a session's context shows, so no secret ever reaches a cache.
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit

from attrs import frozen

from platform_sessions.domain.errors import InvalidInput
from platform_sessions.domain.ids import PlatformId, UserId, checked_id, new_platform_id

MAX_NAME = 100
MAX_URL = 2048
_PLATFORM_TYPE = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def checked_name(value: object) -> str:
    """A display name: 1 to 100 printable characters, surrounding spaces removed."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("a platform name must be a non-empty string")
    name = value.strip()
    if len(name) > MAX_NAME or not name.isprintable():
        raise InvalidInput(f"a platform name is at most {MAX_NAME} printable characters")
    return name


def checked_platform_type(value: object) -> str:
    """A lowercase slug such as ``mastodon`` or ``pixelfed``."""
    if not isinstance(value, str) or not _PLATFORM_TYPE.fullmatch(value):
        raise InvalidInput("a platform type is a lowercase slug such as 'mastodon'")
    return value


def checked_instance_url(value: object) -> str:
    """An absolute http(s) URL of the instance, normalised (lowercase host, no trailing slash)."""
    if not isinstance(value, str) or len(value) > MAX_URL or not value.isprintable():
        raise InvalidInput("an instance URL must be a printable string of at most 2048 characters")
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError as error:
        raise InvalidInput(f"an instance URL is not a valid URL: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("an instance URL must start with https:// (or http://) and name a host")
    netloc = parts.hostname + (f":{port}" if port else "")
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


@frozen
class PlatformConnection:
    """One connected account. Invariants kept by the use cases and the stores:

    - a user has at most one default platform;
    - a session only ever points at an active platform its own user owns.
    """

    id: PlatformId
    user_id: UserId
    name: str
    platform_type: str
    instance_url: str
    username: str
    is_active: bool = True
    is_default: bool = False
    last_used_at: datetime | None = None

    @classmethod
    def connect(
        cls,
        *,
        user_id: UserId,
        name: str,
        platform_type: str,
        instance_url: str,
        username: str,
        is_default: bool = False,
    ) -> PlatformConnection:
        """A new, active connection with a fresh id; every field validated."""
        return cls(
            id=new_platform_id(),
            user_id=checked_id(user_id, "user_id"),
            name=checked_name(name),
            platform_type=checked_platform_type(platform_type),
            instance_url=checked_instance_url(instance_url),
            username=checked_id(username, "username"),
            is_default=is_default,
        )

    def is_usable_by(self, user_id: UserId) -> bool:
        """Whether a session of ``user_id`` may have this platform active."""
        return self.is_active and self.user_id == user_id

    def is_same_account(self, other: PlatformConnection) -> bool:
        """Whether ``other`` connects the same external account (a duplicate connection)."""
        return (
            self.user_id == other.user_id
            and self.platform_type == other.platform_type
            and self.instance_url == other.instance_url
            and self.username.lower() == other.username.lower()
        )
