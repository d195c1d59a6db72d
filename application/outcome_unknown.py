"""After a commit whose outcome is unknown: find out, and finish the change at most once.

A store raises :class:`CommitOutcomeUnknown` when its connection broke while a change was
committing. The use cases that change a user session answer it the same way: a re-read tells
whether the change is stored (each of them can recognise its own: a rotation's new digest, a
new session's id, a session gone, the target platform active), and if it is not, the change is
made again, which versioned writes and unique ids make safe (it cannot be applied twice). Only
when the store cannot be asked either does the caller get the original error (a 503).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from platform_sessions.domain.errors import CommitOutcomeUnknown, StoreUnavailable

T = TypeVar("T")


def resolve_unknown_commit(unknown: CommitOutcomeUnknown, settle: Callable[[], T]) -> T:
    """Run ``settle`` (re-read, and redo the change if it is not there); if the store cannot
    answer it, re-raise ``unknown``: the outcome is still unknown."""
    try:
        return settle()
    except CommitOutcomeUnknown:
        raise
    except StoreUnavailable as error:
        raise unknown from error
