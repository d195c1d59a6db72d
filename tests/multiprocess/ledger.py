"""Judging the workers' ledgers: acknowledged operations are the ground truth.

- **stale read**: a resolve that returned a version lower than one acknowledged (by any
  process, the reader included) before the resolve started.
- **zombie**: a resolve that succeeded though it started after the end of its token (an end,
  a rotation away from it, an end-all) was acknowledged.
- **rejection**: a resolve that said "not found" for a token nobody had begun to end by the
  time the answer came.
- **lost switch**: a session's final platform in the database is none of the targets of the
  switches not followed by another acknowledged switch (a switch that failed with an unsure
  answer may have happened, so its target counts too).
- **lost data write**: a resolve that shows a data key below the value an acknowledged write
  gave it before the resolve started (each key is written by one thread, counting up).
"""

from __future__ import annotations

import bisect
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from attrs import define, field

Record = dict[str, Any]


def read_ledgers(paths: Iterable[Path]) -> list[Record]:
    records: list[Record] = []
    for path in paths:
        records.extend(json.loads(line) for line in path.read_text().splitlines() if line)
    return records


@define
class Verdict:
    """What the ledger shows; ``problems`` lists the first few of each kind."""

    operations: int = 0
    resolves: int = 0
    acknowledged_writes: int = 0
    acknowledged_data_writes: int = 0
    unavailable: int = 0
    errors: int = 0
    stale_reads: int = 0
    zombies: int = 0
    rejections: int = 0
    lost_switches: int = 0
    lost_data_writes: int = 0
    problems: list[str] = field(factory=list)

    def note(self, kind: str, text: str) -> None:
        """Count one problem of ``kind``; keep the first few descriptions."""
        setattr(self, kind, getattr(self, kind) + 1)
        if sum(1 for p in self.problems if p.startswith(kind)) < 5:
            self.problems.append(f"{kind}: {text}")

    def summary(self) -> str:
        return (
            f"operations={self.operations} resolves={self.resolves} acknowledged writes="
            f"{self.acknowledged_writes} (data {self.acknowledged_data_writes}) "
            f"unavailable={self.unavailable} errors={self.errors} "
            f"stale reads={self.stale_reads} zombies={self.zombies} rejections={self.rejections} "
            f"lost switches={self.lost_switches} lost data writes={self.lost_data_writes}"
        )


def _ended_by(r: Record) -> list[str]:
    """The tokens an operation set out to end."""
    if r["op"] == "end":
        return [r["tok"]]
    if r["op"] == "rotate":
        return [] if r["out"] == "refused" else [r["old"]]
    if r["op"] == "endall":
        return list(r.get("toks", []))
    return []


def _is_acknowledged_write(r: Record) -> bool:
    if r["out"] != "ok":
        return False
    return r["op"] in ("login", "rotate", "data") or (r["op"] == "switch" and bool(r["changed"]))


@define
class _Truth:
    """The acknowledged operations, indexed for the checks."""

    # per session: ack times, sorted, and the highest version acknowledged by each (with who)
    times: dict[str, list[float]] = field(factory=dict)
    maxima: dict[str, list[tuple[int, str]]] = field(factory=dict)
    killed_at: dict[str, float] = field(factory=dict)  # token -> earliest acknowledged end
    kill_started: dict[str, float] = field(factory=dict)  # token -> earliest start of an end
    switches: dict[str, list[Record]] = field(factory=lambda: defaultdict(list))
    # per session, per data key: acknowledged (end time, value), sorted by time
    data_writes: dict[str, dict[str, list[tuple[float, int]]]] = field(factory=lambda: defaultdict(dict))

    def acknowledged_before(self, sid: str, moment: float) -> tuple[int, str]:
        i = bisect.bisect_left(self.times.get(sid, []), moment)
        return self.maxima[sid][i - 1] if i else (0, "")


def _truth(records: list[Record], verdict: Verdict) -> _Truth:
    truth = _Truth()
    versions: dict[str, list[tuple[float, int, str]]] = defaultdict(list)
    for r in records:
        if _is_acknowledged_write(r):
            versions[r["sid"]].append(
                (r["e"], r["v"], f"{r['op']} by process {r['p']} acknowledged at {r['e']:.3f}")
            )
            verdict.acknowledged_writes += 1
        if r["op"] == "switch" and r["out"] in ("ok", "ambiguous"):
            truth.switches[r["sid"]].append(r)
        for token in _ended_by(r):
            truth.kill_started[token] = min(truth.kill_started.get(token, r["s"]), r["s"])
            if r["out"] == "ok":
                truth.killed_at[token] = min(truth.killed_at.get(token, r["e"]), r["e"])
        if r["out"] in ("unavailable", "ambiguous"):
            verdict.unavailable += 1
        elif r["out"] == "error":
            verdict.note("errors", f"{r['op']}: {r.get('why')}")
    for sid, acked in versions.items():
        acked.sort()
        truth.times[sid] = [moment for moment, _, _ in acked]
        running: list[tuple[int, str]] = []
        best: tuple[int, str] = (0, "")
        for _, version, who in acked:
            if version > best[0]:
                best = (version, who)
            running.append(best)
        truth.maxima[sid] = running
    _index_data_writes(records, truth, verdict)
    return truth


def _index_data_writes(records: list[Record], truth: _Truth, verdict: Verdict) -> None:
    for r in records:
        if r["op"] == "data" and r["out"] == "ok":
            verdict.acknowledged_data_writes += 1
            truth.data_writes[r["sid"]].setdefault(r["key"], []).append((r["e"], r["val"]))
    for keys in truth.data_writes.values():
        for writes in keys.values():
            writes.sort()


def _judge_resolve(r: Record, truth: _Truth, verdict: Verdict) -> None:
    verdict.resolves += 1
    token, started = r["tok"], r["s"]
    if r["out"] == "ok":
        floor, which = truth.acknowledged_before(r["sid"], started)
        if r["v"] < floor:
            verdict.note(
                "stale_reads",
                f"process {r['p']} read v{r['v']} of {r['sid'][:8]} at {started:.3f}-{r['e']:.3f}; "
                f"v{floor}: {which}",
            )
        for key, writes in truth.data_writes.get(r["sid"], {}).items():
            i = bisect.bisect_left(writes, (started, -1))
            shown = r.get("data", {}).get(key, 0)
            if i and shown < writes[i - 1][1]:
                verdict.note(
                    "lost_data_writes",
                    f"process {r['p']} read {key}={shown} of {r['sid'][:8]} at {started:.3f}; "
                    f"{key}={writes[i - 1][1]} was acknowledged at {writes[i - 1][0]:.3f}",
                )
        if token in truth.killed_at and started > truth.killed_at[token]:
            verdict.note(
                "zombies",
                f"process {r['p']} resolved {token[-10:]} at {started:.3f}, "
                f"{started - truth.killed_at[token]:.3f}s after its end was acknowledged",
            )
    elif r["out"] == "notfound":
        begun = truth.kill_started.get(token)
        if begun is None or begun > r["e"]:
            verdict.note("rejections", f"process {r['p']} was told {token[-10:]} is unknown at {started:.3f}")


def judge(records: list[Record], final_platforms: Mapping[str, str | None]) -> Verdict:
    """Check every resolve and switch against the acknowledged writes; ``final_platforms`` maps
    the session id of every session still in the database to its active platform there."""
    verdict = Verdict(operations=len(records))
    truth = _truth(records, verdict)
    for r in records:
        if r["op"] == "resolve":
            _judge_resolve(r, truth, verdict)
    for sid, tried in truth.switches.items():
        acked = [s for s in tried if s["out"] == "ok"]
        if sid not in final_platforms or not acked:
            continue  # ended, or never switched for sure
        standing = {s["target"] for s in tried if not any(o["s"] > s["e"] for o in acked)}
        final = final_platforms[sid]
        if final not in standing:
            last = max(acked, key=lambda s: s["e"])
            verdict.note(
                "lost_switches",
                f"{sid[:8]}: database shows {final}, the last acknowledged switch (process {last['p']}, "
                f"changed={last['changed']}) was to {last['target']}",
            )
    return verdict
