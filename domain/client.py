"""What the library remembers of the device a session was started from."""

from __future__ import annotations

from attrs import field, frozen

MAX_USER_AGENT = 512
MAX_IP_ADDRESS = 64


def _printable_prefix(value: object, limit: int) -> str:
    # Client metadata is informational and attacker-controlled: keep it short and printable
    # instead of rejecting a login over a strange User-Agent.
    text = "" if value is None else str(value)
    if len(text) <= limit and text.isprintable():
        return text  # the common case, and every read of a stored session: no per-character work
    return "".join(ch for ch in text[: limit * 2] if ch.isprintable())[:limit]


def _user_agent(value: object) -> str:
    return _printable_prefix(value, MAX_USER_AGENT)


def _ip_address(value: object) -> str:
    return _printable_prefix(value, MAX_IP_ADDRESS)


@frozen
class ClientInfo:
    """The user agent and IP address a session was started from."""

    user_agent: str = field(default="", converter=_user_agent)
    ip_address: str = field(default="", converter=_ip_address)
