"""EventOrigin: the name of the publishing process, carried by each event message.

A process delivers the events it publishes to its own listeners at once, and drops their echo
when Redis sends them back. The name is a random token of this storage plus the process id, so
a forked worker (same token, new pid) is another origin, and so is every other host.
"""

from __future__ import annotations

import os
import secrets


class EventOrigin:
    """``<token>-<pid>`` of the current process."""

    def __init__(self) -> None:
        self._token = secrets.token_hex(8)

    def current(self) -> str:
        """This process's name; computed per call, so it follows a fork."""
        return f"{self._token}-{os.getpid()}"
