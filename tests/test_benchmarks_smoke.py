"""The benchmark still runs: ``python -m benchmarks --quick`` end to end, at a tiny size.

Benchmarks are not tests (nothing here is timed or compared with a target); this only keeps
the harness from rotting as the library changes. It needs the real servers, like the other
service tests: the shared Redis and PostgreSQL, and redis-server on PATH for the private one.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from benchmarks.run import main
from tests.support.services import RedisServerFactory

pytestmark = pytest.mark.services


def test_the_quick_benchmark_writes_every_section(
    clean_redis_url: str,
    postgres_url: str,
    redis_server_factory: RedisServerFactory,  # only for its rule: skip or fail without redis-server
    tmp_path: Path,
) -> None:
    output = tmp_path / "results.md"

    status = main(
        ["--quick", "--redis-url", clean_redis_url, "--database-url", postgres_url, "--output", str(output)]
    )

    assert status == 0
    results = output.read_text(encoding="utf-8")
    for heading in ("## Targets", "## Operations", "## Scale", "## Purge", "## Concurrency", "## Peers"):
        assert heading in results
    assert "| resolve (no touch due) | " in results
    assert "| resolve of a random token | " in results
    assert "| resolve, near cache off (its round trip) | " in results
    # This library's web rows need only Flask (a dev dependency); the peers are the bench extra.
    assert "| platform-sessions two-tier: switch platform | " in results
    assert "| platform-sessions two-tier: read, near cache off | " in results
    _assert_framework_session_counts(results)
    if _installed("flask_session", "starsessions", "django"):
        assert "| Django cached_db view: modify + save | " in results
        assert "| Flask-Session (Redis): read | " in results
        assert "| starsessions (Redis): read | " in results
    if shutil.which("wrk") and _installed("gunicorn", "flask_session"):
        assert "## Throughput" in results
        assert "| gunicorn gthread | Flask-Session (Redis) | " in results


def _assert_framework_session_counts(results: str) -> None:
    """Issue 15's rows: reading flask.session (or request.session) sends nothing, changing one
    key of it is one write: one round trip (the data script, an HSET of the changed field) and,
    where SQL is under it, one transaction.

    Round trips and SQL are counted on the request's own context, exactly; the commands by
    name are the server's, which also sees the run's background threads (a completeness check,
    a rewarm lock), so only their presence is asserted."""
    table = _framework_sessions_table(results)
    for kind in ("two-tier", "redis"):
        for unchanged in ("flask.session read, unchanged", "Starlette request.session read, unchanged"):
            row = table[f"platform-sessions {kind}: {unchanged}"]
            counts = (row["Redis round trips"], row["SQL statements"], row["SQL transactions"])
            assert counts == ("0", "0", "0")
        for write in ("flask.session, one key changed", "Starlette request.session, one key changed"):
            row = table[f"platform-sessions {kind}: {write}"]
            assert row["Redis round trips"] == "1"
            commands = {c.rsplit(" ", 1)[0] for c in row["Redis commands by name"].split(", ")}
            assert {"evalsha", "hset"} <= commands
            assert row["SQL transactions"] == ("1" if kind == "two-tier" else "0")


def _framework_sessions_table(results: str) -> dict[str, dict[str, str]]:
    """The rows of the "Session data through the framework" table, by request, by column."""
    section = results.split("### Session data through the framework (issue 15)", 1)[1]
    rows = [line for line in section.split("\n#", 1)[0].splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    table = {}
    for line in rows[1:]:
        cells = dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=True))
        table[cells["request"]] = cells
    return table


def _installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)
