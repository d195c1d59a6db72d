"""Interleaved medians: every operation runs once per round, in a shuffled order, round after round.

Machines are noisy (other processes, CPU frequency, the test suite sharing the server). Running
all of one operation and then all of the next would charge a noisy minute to whichever ran in
it; interleaving spreads any disturbance over every operation alike, and the median ignores the
outliers it causes. Setup and cleanup of each run are not timed.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence

from attrs import define, field

from benchmarks import counting
from benchmarks.counting import Counts

SEED = 20261125


@define
class Operation:
    """One row: what to time, and the untimed steps that make each run meaningful.

    ``prepare`` runs before every timed run (e.g. start the session the run will end);
    ``cleanup`` after it (e.g. end the session the run started). ``unavailable`` says why
    the row cannot be measured on this storage; the row is then reported with that reason.
    """

    name: str
    run: Callable[[], object] | None
    prepare: Callable[[], None] | None = None
    cleanup: Callable[[], None] | None = None
    unavailable: str = ""


@define
class Measured:
    """The runs of one operation: seconds and counts, one entry per timed run."""

    name: str
    seconds: list[float] = field(factory=list)
    counts: list[Counts] = field(factory=list)
    unavailable: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def count_range(self, pick: Callable[[Counts], int]) -> tuple[int, int]:
        values = [pick(c) for c in self.counts]
        return min(values), max(values)


def interleaved(
    operations: Sequence[Operation],
    *,
    rounds: int,
    warmup: int,
    settle: Callable[[], None] | None = None,
) -> list[Measured]:
    """Run every available operation once per round; keep the runs after ``warmup`` rounds.

    Warm-up rounds open connections, load scripts (EVALSHA's first NOSCRIPT) and fill the
    platform caches, which is not what a steady-state request pays. ``settle`` runs, untimed,
    after every run: background work a run queued (the events of twenty logouts, say) must not
    land in the next operation's timing.
    """
    results = [Measured(op.name, unavailable=op.unavailable) for op in operations]
    live = [(op, result) for op, result in zip(operations, results, strict=True) if op.run is not None]
    # A fixed order would charge each operation with what its predecessor leaves behind (a
    # busy core, a background thread waking, cold caches), the same every round; a new order
    # every round spreads those effects over all operations alike. Seeded: reruns compare.
    shuffler = random.Random(SEED)
    for round_number in range(warmup + rounds):
        order = list(live)
        shuffler.shuffle(order)
        for op, result in order:
            assert op.run is not None
            if op.prepare is not None:
                op.prepare()
            before = counting.current()
            started = time.perf_counter()
            op.run()
            elapsed = time.perf_counter() - started
            sent = counting.current().minus(before)
            if op.cleanup is not None:
                op.cleanup()
            if settle is not None:
                settle()
            if round_number >= warmup:
                result.seconds.append(elapsed)
                result.counts.append(sent)
    return results
