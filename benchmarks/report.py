"""The results as Markdown: printed, and written to ``benchmarks/results.md``."""

from __future__ import annotations

from attrs import define, field

from benchmarks.anatomy import Anatomy
from benchmarks.concurrency import Throughput
from benchmarks.machine import Machine
from benchmarks.operation_table import OperationTable
from benchmarks.peers import FRAMEWORK_SESSION_ROWS, PeersResult, framework_row
from benchmarks.purge import PurgeResult
from benchmarks.scale import ScaleResult
from benchmarks.storages import StorageKind
from benchmarks.targets import (
    Verdict,
    operation_verdicts,
    peer_verdicts,
    purge_verdict,
    scale_verdict,
    throughput_verdicts,
)
from benchmarks.throughput import CONNECTIONS, THREADS, ThroughputResult
from benchmarks.timing import Measured

METHOD = """\
Every time is the median of many runs; operations run interleaved (one run of each per round,
the baseline included, in a new shuffled order every round) so that noise, and what one
operation leaves behind for the next, spreads over all of them alike; "x baseline" divides by
the baseline measured in the same rounds on the same server: one redis-py `GET` of a value the
size of a stored session through a client with the library's own settings (`open_redis_client`,
default `RedisOptions`), i.e. one round trip. Round trips (redis-py command sends: a script or a
pipeline is one; a new pooled connection's handshake is not counted), SQL statements
(`before_cursor_execute`) and SQL transactions (`begin`) are counted on the calling thread, so
events delivered by the library's background publisher are not charged to the request; each
database transaction also costs a pool pre-ping, not counted here. Untimed setup (the logins an
"end" needs, say) and the delivery of the events a run queued are kept out of the timed runs.
"µs over baseline" is what the library adds to the round trip: on this kind of machine (a small
VM) the round trip itself is sometimes fast and sometimes slow, depending on the load, which
moves the ratio more than it moves the library's own cost. On the Redis and two-tier storages
each process keeps a near cache of resolved sessions, kept current by Redis's invalidation
reports (`CLIENT TRACKING`): "resolve" rows repeat one session's resolve, which the near cache
answers; the row "resolve, near cache off" is the same session through a facade without it, i.e.
what a session not in the near cache (a first request, or the first after any change to it)
costs. The scale rows and "where a resolve's time goes" run with it off too."""


@define
class Report:
    command: str
    machine: Machine
    tables: list[OperationTable] = field(factory=list)
    scale: ScaleResult | None = None
    purge: PurgeResult | None = None
    concurrency: dict[str, list[Throughput]] = field(factory=dict)
    peers: PeersResult | None = None
    throughput: ThroughputResult | None = None
    notes: list[str] = field(factory=list)

    def verdicts(self) -> list[tuple[str, Verdict]]:
        found: list[tuple[str, Verdict]] = []
        for table in self.tables:
            if table.kind.uses_redis:  # the targets are those of the Redis-fronted path
                found.extend((table.kind.value, v) for v in operation_verdicts(table))
        if self.scale is not None and self.scale.points:
            found.append(("redis", scale_verdict(self.scale)))
        if self.purge is not None:
            found.append(("sql", purge_verdict(self.purge)))
        if self.peers is not None:
            found.extend(("two-tier", v) for v in peer_verdicts(self.peers))
        if self.throughput is not None:
            found.extend(("two-tier", v) for v in throughput_verdicts(self.throughput))
        return found

    def markdown(self) -> str:
        lines = ["# Benchmarks", "", f"Command: `{self.command}`", "", *self.machine.lines(), "", METHOD, ""]
        lines += _targets(self.verdicts())
        for table in self.tables:
            lines += _operations(table)
        if self.scale is not None:
            lines += _scale(self.scale)
        if self.purge is not None:
            lines += _purge(self.purge)
        for kind, results in self.concurrency.items():
            lines += _concurrency(kind, results)
        if self.peers is not None:
            lines += _peers(self.peers)
        if self.throughput is not None:
            lines += _throughput(self.throughput)
        if self.notes:
            lines += ["## Notes", "", *(f"- {note}" for note in self.notes), ""]
        return "\n".join(lines)


def _targets(verdicts: list[tuple[str, Verdict]]) -> list[str]:
    if not verdicts:
        return []
    lines = ["## Targets", "", "| storage | target | holds | measured |", "|---|---|---|---|"]
    for kind, v in verdicts:
        lines.append(f"| {kind} | {v.target} | {'yes' if v.held else '**no**'} | {v.measured} |")
    return [*lines, ""]


def _counts(m: Measured, pick: str) -> str:
    low, high = m.count_range(lambda c: int(getattr(c, pick)))
    return str(low) if low == high else f"{low} to {high}"


def _operations(table: OperationTable) -> list[str]:
    base = table.baseline.median
    lines = [
        f"## Operations: {table.kind.value} storage",
        "",
        f"{table.rounds} rounds; baseline value {table.value_size} bytes.",
        "",
        "| operation | median µs | x baseline | µs over baseline | Redis round trips | SQL statements "
        "| SQL transactions |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in [table.baseline, *table.rows]:
        if not m.seconds:
            lines.append(f"| {m.name} | {m.unavailable or 'not measured'} | | | | | |")
            continue
        lines.append(
            f"| {m.name} | {m.median * 1e6:,.0f} | {m.median / base:.2f} | {(m.median - base) * 1e6:,.0f} "
            f"| {_counts(m, 'redis')} "
            f"| {_counts(m, 'sql')} | {_counts(m, 'transactions')} |"
        )
    if table.anatomy is not None:
        lines += ["", *_anatomy(table.anatomy)]
    return [*lines, ""]


def _anatomy(a: Anatomy) -> list[str]:
    return [
        "Where a resolve's round trip goes (near cache off; calls back to back, so neither process",
        "sleeps between them; a private redis-server, whose `INFO commandstats` gives Redis's own",
        "time per call):",
        "",
        "| call | median µs | x GET | inside Redis µs/call | calls Redis counted |",
        "|---|---:|---:|---:|---:|",
        f"| GET | {a.get_us:,.1f} | 1.00 | {a.get_server.usec_per_call:.2f} | {a.get_server.calls:,} |",
        f"| resolve | {a.resolve_us:,.1f} | {a.resolve_us / a.get_us:.2f} "
        f"| {a.resolve_server.usec_per_call:.2f} | {a.resolve_server.calls:,} |",
        "",
        f"Of the {a.resolve_us - a.get_us:,.1f} µs a resolve adds to the GET, "
        f"{a.resolve_server.usec_per_call - a.get_server.usec_per_call:,.1f} µs are the script inside Redis "
        f"and {a.client_extra_us:,.1f} µs the client (token, script call, reply decoding, rules).",
    ]


def _scale(scale: ScaleResult) -> list[str]:
    lines = [
        "## Scale: resolve with many live sessions (private redis-server, Redis storage)",
        "",
        "Random sampled sessions, platform caches warm, near cache off, interleaved with the baseline on "
        "the same server.",
        "",
        "| live sessions | load time s | baseline µs | resolve µs | x baseline | µs over baseline "
        "| round trips |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in scale.points:
        lines.append(
            f"| {p.sessions:,} | {p.load_seconds:.1f} | {p.baseline.median * 1e6:,.0f} "
            f"| {p.resolve.median * 1e6:,.0f} | {p.resolve.median / p.baseline.median:.2f} "
            f"| {(p.resolve.median - p.baseline.median) * 1e6:,.0f} | {_counts(p.resolve, 'redis')} |"
        )
    lines.append("")
    if scale.memory is not None:
        mem = scale.memory
        lines += [
            f"Redis memory: a session hash {mem.session_bytes:,.0f} bytes (median `MEMORY USAGE`), a user's "
            f"index with {mem.sessions_per_index} sessions {mem.index_bytes:,.0f} bytes; `used_memory` grew "
            f"{mem.used_memory_per_session:,.0f} bytes per session loaded (hash, index share, key overhead).",
            "",
        ]
    return lines


def _purge(purge: PurgeResult) -> list[str]:
    ordered = sorted(purge.batches)
    median = ordered[len(ordered) // 2]
    return [
        "## Purge of expired sessions (PostgreSQL, private schema)",
        "",
        "| expired rows | batch size | transactions | total s | longest transaction ms | median ms "
        "| live rows kept |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {purge.rows:,} | {purge.batch_size:,} | {len(purge.batches):,} | {purge.total_seconds:.2f} "
        f"| {purge.longest * 1000:,.1f} | {median * 1000:,.1f} | {purge.live_rows_left:,} |",
        "",
        f"(Bulk insert and ANALYZE beforehand: {purge.insert_seconds:.1f} s, not part of the purge.)",
        "",
    ]


def _concurrency(kind: str, results: list[Throughput]) -> list[str]:
    lines = [
        f"## Concurrency: {kind} storage",
        "",
        "Each client resolves its own session over and over (near-cache hits where there is one).",
        "",
        "| clients | resolves/s | baseline GETs/s | resolves / GETs |",
        "|---|---:|---:|---:|",
    ]
    for t in results:
        ratio = t.resolves_per_s / t.gets_per_s
        lines.append(f"| {t.label} | {t.resolves_per_s:,.0f} | {t.gets_per_s:,.0f} | {ratio:.2f} |")
    return [*lines, ""]


PEERS_METHOD = """\
Each framework's app is called in process (a prepared WSGI environ or ASGI scope, no socket),
one request per run, all rows interleaved round by round with the baseline (one redis-py GET
of a session-sized value) on a private redis-server and the run's PostgreSQL schema. "session
layer" is the request's median minus that of the same framework's bare app (same views, no
sessions); "x GET" divides it by the baseline. Redis round trips and SQL as in the operation
tables (redis-py's synchronous sends: starsessions' asyncio client shows 0 there; Django's
statements through its own connection wrapper; its transactions are not counted: n/c); "Redis
commands" is what the server counted per request (`INFO commandstats`, separate untimed runs),
for every client alike. This library's rows use the Flask extension with default settings."""


def _peers(peers: PeersResult) -> list[str]:
    base = peers.baseline.median
    lines = [
        "## Peers: through the web, beside the libraries users would pick",
        "",
        PEERS_METHOD,
        "",
        f"{peers.rounds} rounds; baseline GET {base * 1e6:,.0f} µs of a {peers.value_size}-byte value.",
        "",
        "| request | median µs | session layer µs | x GET | Redis round trips | Redis commands "
        "| SQL statements | SQL transactions |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, bare in peers.bare.items():
        lines.append(f"| {name} | {bare.median * 1e6:,.0f} | | | | | | |")
    for row in peers.rows:
        m = row.measured
        layer = peers.layer(row)
        commands = "" if row.server_commands is None else f"{row.server_commands:.1f}"
        transactions = "n/c" if row.framework == "Django" else _counts(m, "transactions")
        lines.append(
            f"| {m.name} | {m.median * 1e6:,.0f} | {layer * 1e6:,.0f} | {layer / base:.2f} "
            f"| {_counts(m, 'redis')} | {commands} | {_counts(m, 'sql')} | {transactions} |"
        )
    lines.append("")
    lines += [f"- not measured: {missing}" for missing in peers.missing]
    return [*lines, "", *_framework_sessions(peers)]


FRAMEWORK_SESSIONS_METHOD = """\
The rows of `flask.session` and Starlette's `request.session` on this library, from the table
above, each beside the storage's read row (the session interface installed, the view reads
only the context). "flask.session off": the extension with Flask's own session interface left
in place, as it was before this library provided one. The sessions hold the peers' data
(`PEER_DATA`, 7 keys). A write changes one key (`n`); the writer's session is read untimed
before each write, so its near-cache entry (which the previous run's write invalidated) is
current again and the counts are the write's alone. "x read row": the session layer over the
read row's, same run (Flask rows; the Starlette rows' layer is over bare Starlette). Commands
by name are per request at the server (a script's own calls count under their names too);
the server also counts what background threads of the run's facades send meanwhile (the
two-tier storage's periodic `EXISTS` of its completeness markers, say), which the round trips,
counted on the request's own context, leave out."""


def _framework_sessions(peers: PeersResult) -> list[str]:
    kinds = [StorageKind.TWO_TIER, StorageKind.REDIS]
    found = [(kind, peers.row(framework_row(kind, "read, near cache hit"))) for kind in kinds]
    if not any(peers.row(framework_row(kind, what)) for kind in kinds for what in FRAMEWORK_SESSION_ROWS):
        return []
    base = peers.baseline.median
    lines = [
        "### Session data through the framework (issue 15)",
        "",
        FRAMEWORK_SESSIONS_METHOD,
        "",
        "| request | session layer µs | x GET | x read row | Redis round trips | Redis commands by name "
        "| SQL statements | SQL transactions |",
        "|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for kind, read in found:
        names = ["read, near cache hit", *FRAMEWORK_SESSION_ROWS]
        for row in (peers.row(framework_row(kind, what)) for what in names):
            if row is None:
                continue
            m = row.measured
            layer = peers.layer(row)
            versus = "" if read is None or row.framework != "Flask" else f"{layer / peers.layer(read):.2f}"
            by_name = ", ".join(f"{name} {n:g}" for name, n in (row.commands_by_name or {}).items())
            lines.append(
                f"| {m.name} | {layer * 1e6:,.0f} | {layer / base:.2f} | {versus} | {_counts(m, 'redis')} "
                f"| {by_name or 'none'} | {_counts(m, 'sql')} | {_counts(m, 'transactions')} |"
            )
    return [*lines, ""]


def _throughput(result: ThroughputResult) -> list[str]:
    lines = [
        "## Throughput: the read request under real servers",
        "",
        f"`wrk -t1 -c{CONNECTIONS} -d{result.seconds:.0f}s --latency`, `GET /read` with the session's "
        "cookie; "
        f"gunicorn `-k gthread -w 1 --threads {THREADS}`, uvicorn with one worker; the apps alternate, "
        f"{result.repeats} run(s) each, the best run shown (the least disturbed by the shared machine), "
        "every run listed after it.",
        "",
        "| server | app | requests/s | p50 ms | p99 ms | errors | all runs (req/s, p99 ms) |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for app in result.apps:
        best = app.best()
        if best is None:
            continue
        runs = "; ".join(f"{r.requests_per_s:,.0f}, {r.p99_ms:.1f}" for r in app.runs)
        lines.append(
            f"| {app.server} | {app.name} | {best.requests_per_s:,.0f} | {best.p50_ms:.2f} "
            f"| {best.p99_ms:.1f} | {best.errors} | {runs} |"
        )
    lines.append("")
    lines += [f"- skipped: {reason}" for reason in result.skipped]
    return [*lines, ""]
