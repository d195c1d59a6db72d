"""How big a run is: ``--quick`` (seconds, for smoke tests and trying things) or the full run."""

from __future__ import annotations

from attrs import frozen


@frozen
class Sizes:
    rounds: int  # timed rounds of the operation table
    warmup: int
    scale_sessions: tuple[int, ...]
    scale_rounds: int
    purge_rows: int
    purge_batch: int
    concurrency_seconds: float
    concurrency_repeats: int
    peers_rounds: int  # timed rounds of the peers section (every request kind once per round)
    throughput_seconds: float  # each wrk run of the throughput section


FULL = Sizes(
    rounds=1000,
    warmup=20,
    scale_sessions=(1_000, 100_000, 1_000_000),
    scale_rounds=2000,
    purge_rows=1_000_000,
    purge_batch=1000,
    concurrency_seconds=3.0,
    concurrency_repeats=3,
    peers_rounds=400,
    throughput_seconds=5.0,
)

QUICK = Sizes(
    rounds=10,
    warmup=2,
    scale_sessions=(100, 500),
    scale_rounds=20,
    purge_rows=2_000,
    purge_batch=500,
    concurrency_seconds=0.2,
    concurrency_repeats=1,
    peers_rounds=5,
    throughput_seconds=1.0,
)
