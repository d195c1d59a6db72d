"""Print pip constraints pinning every runtime dependency to the lowest version pyproject allows.

``python3 .ci/lowest_constraints.py [EXTRA ...] > lowest.txt``: each ``name[extras]>=X`` of
``[project] dependencies`` (and of the named optional extras) becomes ``name==X``, so that
``pip install -c lowest.txt`` proves those bounds true. Every runtime requirement must have
a ``>=`` bound: one without (or with another operator) is an error here, not a silent skip.
Only the standard library (tomllib: Python 3.11+), as this runs before any venv exists.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
# name, optional [extras], the lower bound; an environment marker or comment is not expected
REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*>=\s*([0-9][0-9A-Za-z.]*)$")


def lowest_pins(requirements: list[str]) -> list[str]:
    pins = []
    for requirement in requirements:
        match = REQUIREMENT.match(requirement.strip())
        if match is None:
            raise SystemExit(f"{PYPROJECT.name}: {requirement!r} has no plain '>=' lower bound to test")
        name, _, lowest = match.groups()
        pins.append(f"{name}=={lowest}")
    return pins


def main(extras: list[str]) -> int:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    print("\n".join(lowest_pins(requirements)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
