"""The pinned dependencies are the ones installed, and they agree with each other."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version


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
