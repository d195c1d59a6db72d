"""The wheel and the sdist hold every module of the four layers, or the build fails saying why.

Each test builds from a copy of this checkout's files (what ``git ls-files`` lists, links kept
as links), offline (``--no-isolation``: the dev extra installs the build backend), the wheel
from the sdist as pip does, so both are proven in one build.
"""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
LAYERS = ("domain", "application", "adapters", "entrypoints")
BUILD_TIMEOUT_S = 180
PROJECT = "platform_sessions-0.1.0"  # name and version as the built files spell them


def _checkout_files() -> list[str]:
    if shutil.which("git") is None or not (REPOSITORY / ".git").exists():
        pytest.skip("not a git checkout: nothing to copy the build's input from")
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPOSITORY,
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout.decode()
    return [name for name in listing.split("\0") if name and os.path.lexists(REPOSITORY / name)]


def _copy_checkout(target: Path) -> list[str]:
    """Copy the checkout's files into `target`; returns their relative names."""
    names = _checkout_files()
    for name in names:
        source, copy = REPOSITORY / name, target / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, copy, follow_symlinks=False)  # the layer links stay links
    return names


def _build(source: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], Path, Path]:
    """(the checkout's file names, the wheel, the sdist), built once for this module."""
    source, out = tmp_path_factory.mktemp("checkout"), tmp_path_factory.mktemp("dist")
    names = _copy_checkout(source)
    result = _build(source, out)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return names, out / f"{PROJECT}-py3-none-any.whl", out / f"{PROJECT}.tar.gz"


def _expected_package_files(names: list[str]) -> set[str]:
    """Every file of the layers and of src/platform_sessions, as ``platform_sessions/...``."""
    expected = {"platform_sessions/__init__.py", "platform_sessions/py.typed"}
    for name in names:
        layer = name.split("/", 1)[0]
        if layer in LAYERS and "__pycache__" not in name:
            expected.add(f"platform_sessions/{name}")
    return expected


def test_the_wheel_holds_every_file_of_the_layers_and_nothing_else(
    built: tuple[list[str], Path, Path],
) -> None:
    names, wheel, _ = built
    with zipfile.ZipFile(wheel) as archive:
        files = set(archive.namelist())
    package = {name for name in files if not name.startswith(f"{PROJECT}.dist-info/")}
    expected = _expected_package_files(names)
    assert package == expected, (
        f"missing: {sorted(expected - package)[:20]}, unexpected: {sorted(package - expected)[:20]}"
    )
    # the data files the adapters load at run time, spelled out in case a rule above hides them
    assert {
        "platform_sessions/adapters/sqlalchemy/migrations/script.py.mako",
        "platform_sessions/py.typed",
    } <= package
    assert any(name.endswith(".lua") for name in package)
    assert f"{PROJECT}.dist-info/licenses/LICENSE" in files


def test_the_wheel_metadata_names_license_classifiers_and_lean_dependencies(
    built: tuple[list[str], Path, Path],
) -> None:
    _, wheel, _ = built
    with zipfile.ZipFile(wheel) as archive:
        metadata = email.message_from_bytes(archive.read(f"{PROJECT}.dist-info/METADATA"))
    assert metadata["License-Expression"] == "MIT"
    classifiers = metadata.get_all("Classifier") or []
    assert "Programming Language :: Python :: 3.13" in classifiers
    assert "Typing :: Typed" in classifiers
    requirements = metadata.get_all("Requires-Dist") or []
    unconditional = [line for line in requirements if "extra ==" not in line]
    # fakeredis (compiled Lua runtimes) only for the in-process storages: an extra
    assert not [line for line in unconditional if line.startswith("fakeredis")], unconditional
    assert any(line.startswith("fakeredis") and 'extra == "fakeredis"' in line for line in requirements)


def test_the_sdist_holds_the_package_license_and_no_tests(built: tuple[list[str], Path, Path]) -> None:
    names, _, sdist = built
    with tarfile.open(sdist) as archive:
        members = {member.name.removeprefix(f"{PROJECT}/") for member in archive.getmembers()}
    assert {"LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml", "setup.py"} <= members
    assert not [name for name in members if name.startswith(("tests/", "benchmarks/"))]
    in_src = {name.removeprefix("src/") for name in members if name.startswith("src/platform_sessions/")}
    files = {name for name in in_src if "." in name.rsplit("/", 1)[-1]}
    assert _expected_package_files(names) <= files


def test_a_checkout_without_symlinks_fails_to_build_saying_why(tmp_path: Path) -> None:
    source, out = tmp_path / "checkout", tmp_path / "dist"
    _copy_checkout(source)
    for layer in LAYERS:
        # What Git for Windows writes for a link when core.symlinks is false: its target as text.
        link = source / "src" / "platform_sessions" / layer
        link.unlink()
        link.write_text(f"../../{layer}")
    result = _build(source, out)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "refusing to build a package without its layers" in output, output[-3000:]
    assert "src/platform_sessions/domain is a plain file" in output
    assert not list(out.glob("*.whl"))
