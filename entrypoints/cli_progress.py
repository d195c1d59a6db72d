"""A one-line progress bar for the command line's long operations (purge, rewarm).

On a terminal it redraws one line; elsewhere (a log, a pipe, CI) it stays silent, so that only
the summary line lands in the output.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TextIO, TypeVar

T = TypeVar("T")

_SPINNER = "|/-\\"


class ProgressBar:
    """``update(done, total)`` redraws ``label [#######-------]  50%  500/1000``; with no total
    it shows a spinner and the count so far."""

    def __init__(self, label: str, stream: TextIO, *, width: int = 30) -> None:
        self._label = label
        self._stream = stream
        self._width = width
        self._interactive = stream.isatty()
        self._ticks = 0
        self._drawn = False
        self._lock = threading.Lock()

    def update(self, done: int | None = None, total: int | None = None) -> None:
        """Redraw the bar (only on a terminal)."""
        if not self._interactive:
            return
        with self._lock:
            self._ticks += 1
            if total:
                filled = min(self._width, self._width * (done or 0) // total)
                bar = "#" * filled + "-" * (self._width - filled)
                percent = 100 * (done or 0) // total
                line = f"{self._label} [{bar}] {percent:3d}%  {done}/{total}"
            else:
                count = f"  {done} so far" if done is not None else ""
                line = f"{self._label} {_SPINNER[self._ticks % len(_SPINNER)]}{count}"
            self._stream.write("\r" + line.ljust(self._width + len(self._label) + 24))
            self._stream.flush()
            self._drawn = True

    def close(self) -> None:
        """End the bar's line, so that what is printed next starts on its own."""
        with self._lock:
            if self._drawn:
                self._stream.write("\n")
                self._stream.flush()
                self._drawn = False

    def spinning_while(self, work: Callable[[], T], *, interval_s: float = 0.1) -> T:
        """Run ``work`` here while a thread keeps the spinner turning (for work that cannot
        report progress); returns what it returned."""
        if not self._interactive:
            return work()
        stop = threading.Event()

        def spin() -> None:
            while not stop.wait(interval_s):
                self.update()

        spinner = threading.Thread(target=spin, name="progress-spinner", daemon=True)
        spinner.start()
        try:
            return work()
        finally:
            stop.set()
            spinner.join(timeout=1)


def elapsed_since(started: float) -> str:
    """Seconds since ``started`` (a ``time.perf_counter()`` reading), for summaries."""
    return f"{time.perf_counter() - started:.2f} s"
