"""The one command: parse the flags, run the sections, print and write the results."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks import counting
from benchmarks.concurrency import measure_concurrency
from benchmarks.machine import describe_machine, load_average
from benchmarks.operation_table import measure_operations
from benchmarks.peers import measure_peers
from benchmarks.private_postgres import private_schema
from benchmarks.purge import measure_purge
from benchmarks.report import Report
from benchmarks.scale import measure_scale
from benchmarks.sizes import FULL, QUICK
from benchmarks.storages import Servers, chosen_kinds, delete_run_keys
from benchmarks.throughput import measure_throughput

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SECTIONS = ("operations", "scale", "purge", "concurrency", "peers", "throughput")
RESULTS = Path(__file__).with_name("results.md")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--redis-url", default=DEFAULT_REDIS_URL, help="shared Redis (only this run's keys are touched)"
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help="PostgreSQL; a private schema is made and dropped",
    )
    parser.add_argument(
        "--storage",
        default="auto",
        help="auto (two-tier if the library has it, else redis), redis, sql, two-tier, or a list: redis,sql",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: seconds, not minutes")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"any of {','.join(SECTIONS)}")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the Markdown results")
    return parser


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sizes = QUICK if args.quick else FULL
    sections = {s.strip() for s in args.sections.split(",")}
    unknown = sections - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown sections: {', '.join(sorted(unknown))}")
    command = "python -m benchmarks " + shlex.join(list(argv if argv is not None else sys.argv[1:]))
    report = Report(command.strip(), describe_machine(args.redis_url, args.database_url))
    with counting.counting(), private_schema(args.database_url) as schema_url:
        servers = Servers.for_run(args.redis_url, schema_url)
        kinds = chosen_kinds(args.storage, servers)
        _say(f"storages: {', '.join(k.value for k in kinds)}")
        try:
            for kind in kinds if "operations" in sections else []:
                _say(f"operations on {kind.value} storage ({sizes.rounds} rounds)")
                report.tables.append(
                    measure_operations(kind, servers, rounds=sizes.rounds, warmup=sizes.warmup)
                )
            if "scale" in sections:
                counts = ", ".join(f"{n:,}" for n in sizes.scale_sessions)
                _say(f"scale: {counts} sessions on a private redis-server")
                report.scale = measure_scale(
                    servers, list(sizes.scale_sessions), rounds=sizes.scale_rounds, warmup=sizes.warmup
                )
            if "purge" in sections:
                _say(f"purge of {sizes.purge_rows:,} expired rows")
                report.purge = measure_purge(
                    args.database_url, rows=sizes.purge_rows, batch_size=sizes.purge_batch
                )
            for kind in kinds if "concurrency" in sections else []:
                _say(f"concurrency on {kind.value} storage")
                report.concurrency[kind.value] = measure_concurrency(
                    kind, servers, seconds=sizes.concurrency_seconds, repeats=sizes.concurrency_repeats
                )
            if "peers" in sections:
                _say(f"peers: this library through the web beside the others ({sizes.peers_rounds} rounds)")
                report.peers = measure_peers(servers, rounds=sizes.peers_rounds, warmup=sizes.warmup)
            if "throughput" in sections:
                _say(f"throughput under gunicorn and uvicorn ({sizes.throughput_seconds:.0f} s per wrk run)")
                report.throughput = measure_throughput(
                    servers, seconds=sizes.throughput_seconds, repeats=sizes.concurrency_repeats
                )
        finally:
            delete_run_keys(args.redis_url, servers.key_prefix)
    report.notes.append(f"Load average (1, 5, 15 min) at the end: {load_average()}.")
    markdown = report.markdown()
    print(markdown)
    args.output.write_text(markdown + "\n", encoding="utf-8")
    _say(f"written to {args.output}")
    return 0
