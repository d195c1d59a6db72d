"""A cached platform connection: the fields a session's context shows, as JSON.

``PlatformConnection`` holds no credentials by design, so nothing secret can be written here;
the owner is not stored either (the record sits under its owner's label, and the reader knows
whose platforms it asked for).
"""

from __future__ import annotations

import functools
import json

from platform_sessions.adapters.redis.epoch import from_micros, to_micros
from platform_sessions.adapters.redis.errors import CorruptPayload
from platform_sessions.domain.ids import UserId
from platform_sessions.domain.platform import PlatformConnection

SCHEMA_VERSION = 1


def encode_platform(platform: PlatformConnection) -> str:
    """The cache record of ``platform``."""
    return json.dumps(
        {
            "schema": SCHEMA_VERSION,
            "id": platform.id,
            "name": platform.name,
            "platform_type": platform.platform_type,
            "instance_url": platform.instance_url,
            "username": platform.username,
            "is_active": platform.is_active,
            "is_default": platform.is_default,
            "last_used_at_us": None if platform.last_used_at is None else to_micros(platform.last_used_at),
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


# The same record decodes to the same (immutable) platform: recent decodes are remembered, as
# every request of a user reads the same one or two records. Errors are never remembered.
REMEMBERED_PLATFORMS = 2048


@functools.lru_cache(maxsize=REMEMBERED_PLATFORMS)
def decode_platform(record: bytes | str, user_id: UserId) -> PlatformConnection:
    """``user_id``'s platform from its cache record (bytes are read as strict UTF-8);
    :class:`CorruptPayload` if unreadable."""
    try:
        fields = json.loads(record)
        if not isinstance(fields, dict) or fields.get("schema") != SCHEMA_VERSION:
            raise CorruptPayload("not a platform record of this schema version")
        last_used = fields["last_used_at_us"]
        return PlatformConnection(
            id=_text(fields["id"]),
            user_id=user_id,
            name=_text(fields["name"]),
            platform_type=_text(fields["platform_type"]),
            instance_url=_text(fields["instance_url"]),
            username=_text(fields["username"]),
            is_active=_flag(fields["is_active"]),
            is_default=_flag(fields["is_default"]),
            last_used_at=None if last_used is None else from_micros(int(last_used)),
        )
    except CorruptPayload:
        raise
    except (KeyError, ValueError, TypeError, OverflowError) as error:
        raise CorruptPayload(f"{type(error).__name__}: {error}") from None


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise CorruptPayload("a platform record field is not a non-empty string")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise CorruptPayload("a platform record flag is not a boolean")
    return value
