"""Running a function on many threads at once, bounded in time, collecting every outcome."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

JOIN_TIMEOUT_S = 60.0


def run_at_once(count: int, work: Callable[[int], Any], timeout_s: float = JOIN_TIMEOUT_S) -> list[Any]:
    """Start ``count`` threads that call ``work(index)`` together (behind a barrier).

    Returns each call's result, or the exception it raised, by index. Fails if a thread is
    still running after ``timeout_s``: a deadlock must fail the test, not hang the run.
    """
    barrier = threading.Barrier(count, timeout=timeout_s)
    outcomes: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait()
            outcomes[index] = work(index)
        except BaseException as error:  # recorded for the test to judge
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout_s)
    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f"threads still running after {timeout_s}s: {stuck}"
    return outcomes
