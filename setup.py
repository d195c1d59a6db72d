"""Build guard: refuse to build a package without its layers (the metadata is in pyproject.toml).

``src/platform_sessions/<layer>`` are relative symlinks to the repository's top-level folders
(architecture.md, "Packaging: one import name"). A checkout made without symlink support (Git
for Windows' default, ``core.symlinks=false``) turns each link into a small text file, and
setuptools would then build, without a word, a wheel holding only ``__init__.py``. Every build
(wheel, sdist, editable) runs this file first, so such a checkout fails here, saying why.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup

LAYERS = ("domain", "application", "adapters", "entrypoints")
ROOT = Path(__file__).resolve().parent
PACKAGE = ROOT / "src" / "platform_sessions"


def layer_problems() -> list[str]:
    """What is wrong with each layer of the package as setuptools will read it (none: empty)."""
    problems = []
    for layer in LAYERS:
        linked = PACKAGE / layer
        if not (linked / "__init__.py").is_file():
            kind = "a plain file" if linked.is_file() else "missing or not a package"
            problems.append(f"{linked.relative_to(ROOT)} is {kind}, not a link to ../../{layer}")
        elif (ROOT / layer).is_dir() and linked.resolve() != (ROOT / layer).resolve():
            # In a checkout the top-level folder is the source; a copy here would ship stale code.
            # (An sdist has no top-level folders: its src/ holds the files themselves.)
            problems.append(f"{linked.relative_to(ROOT)} is not the top-level {layer}/ folder")
    return problems


problems = layer_problems()
if problems:
    raise SystemExit(
        "platform-sessions: refusing to build a package without its layers:\n  "
        + "\n  ".join(problems)
        + "\nThis checkout has no symlinks. Clone again with them enabled: "
        "`git clone -c core.symlinks=true ...` (on Windows: Developer Mode or an administrator shell)."
    )

setup()
