"""What starting costs: ``import platform_sessions.entrypoints`` and ``platform-sessions --help``.

Each is timed in a fresh interpreter (the import cache of a running one would hide it), as
the wall time of the whole process, beside an interpreter that imports nothing; the median
of a few runs. Targets: the import adds under 0.25 s to a bare interpreter, ``--help`` takes
under 0.5 s in all (it must not load a storage, SQLAlchemy, Alembic or dependency-injector).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from attrs import frozen

IMPORT_MAX_ADDED_S = 0.25
HELP_MAX_S = 0.5
PROCESS_TIMEOUT_S = 30.0


@frozen
class ImportTimes:
    bare_s: float  # `python -c pass`
    import_s: float  # `python -c "import platform_sessions.entrypoints"`
    help_s: float  # `platform-sessions --help`
    runs: int

    @property
    def held(self) -> bool:
        return self.import_s - self.bare_s < IMPORT_MAX_ADDED_S and self.help_s < HELP_MAX_S

    def note(self) -> str:
        verdict = "held" if self.held else "MISSED"
        return (
            f"Start-up (median of {self.runs} fresh processes): `import platform_sessions.entrypoints` "
            f"{self.import_s * 1000:.0f} ms ({(self.import_s - self.bare_s) * 1000:.0f} ms over a bare "
            f"interpreter's {self.bare_s * 1000:.0f} ms; target under {IMPORT_MAX_ADDED_S * 1000:.0f} ms), "
            f"`platform-sessions --help` {self.help_s * 1000:.0f} ms (target under "
            f"{HELP_MAX_S * 1000:.0f} ms): {verdict}."
        )


def _median_wall_time(command: Sequence[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=PROCESS_TIMEOUT_S)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _help_command() -> list[str]:
    script = Path(sys.executable).with_name("platform-sessions")  # the console script pip made
    if script.exists():
        return [str(script), "--help"]
    return [sys.executable, "-m", "platform_sessions.entrypoints.cli", "--help"]


def measure_imports(runs: int) -> ImportTimes:
    return ImportTimes(
        bare_s=_median_wall_time([sys.executable, "-c", "pass"], runs),
        import_s=_median_wall_time([sys.executable, "-c", "import platform_sessions.entrypoints"], runs),
        help_s=_median_wall_time(_help_command(), runs),
        runs=runs,
    )
