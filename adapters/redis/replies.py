"""Reading Redis replies, whether the client returns bytes (ours) or str (an application's)."""

from __future__ import annotations

from collections.abc import Sequence

from platform_sessions.adapters.redis.errors import CorruptPayload


def text(value: object) -> str:
    """A reply value as text; undecodable bytes are a :class:`CorruptPayload`."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise CorruptPayload("a stored value is not UTF-8") from None
    if isinstance(value, str):
        return value
    raise CorruptPayload(f"a stored value is a {type(value).__name__}, not text")


def optional_text(value: object) -> str | None:
    """Like :func:`text`, with a nil reply as ``None``."""
    return None if value is None else text(value)


def pairs(flat: Sequence[object]) -> dict[str, str]:
    """An HGETALL reply as a dict; the client may give a flat list (scripts) or a dict."""
    if isinstance(flat, dict):
        return {text(key): text(value) for key, value in flat.items()}
    if len(flat) % 2:
        raise CorruptPayload("a hash reply has an odd number of elements")
    return {text(flat[i]): text(flat[i + 1]) for i in range(0, len(flat), 2)}
