"""The pinned dependencies are the ones installed, and they agree with each other."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path


def test_installed_ortools_is_the_pinned_release() -> None:
    assert version("ortools") == "9.15.6755"


def test_protobuf_is_in_the_range_ortools_needs() -> None:
    major, minor, _ = (int(p) for p in version("protobuf").split("."))
    assert (major, minor) == (6, 33)


def test_pip_check_is_clean() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout


def test_wheel_ships_the_service_and_not_the_benchmarks(tmp_path: Path) -> None:
    # Built from a copy of the sources, so the checkout gains no build directory.
    root = Path(__file__).parents[1]
    source = tmp_path / "src"
    shutil.copytree(
        root,
        source,
        ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__", "out"),
    )
    build = ["wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "dist")]
    run = subprocess.run(
        [sys.executable, "-m", "pip", *build, str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    (wheel,) = (tmp_path / "dist").glob("ringplan-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert not [name for name in names if name.startswith("benchmarks/")]
    assert {"solver/search/pipeline.py", "server/client.py", "ringplan/examples/city.json"} <= set(
        names
    )


def test_importing_the_client_loads_no_part_of_the_server() -> None:
    code = (
        "import sys, server.client; "
        "print(sorted(m for m in sys.modules if m.startswith(('server.', 'benchmarks'))))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    loaded = set(ast.literal_eval(run.stdout))
    server_side = {"server.app", "server.service", "server.workers", "server.jobs.store"}
    assert not loaded & (server_side | {"server.jobs.manager", "benchmarks"}), loaded
