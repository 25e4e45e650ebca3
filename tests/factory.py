"""Tiny instances whose best plans can be worked out by hand."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from subprocess import DEVNULL, PIPE, Popen
from typing import Any

import numpy as np
import numpy.typing as npt

from solver import Instance, Result, check_plan, parse_instance, solve
from solver.heuristics.greedy import greedy_counts
from solver.model.data import ModelData

WIB = timezone(timedelta(hours=7))
HOME = {"lat": -6.55, "lon": 107.44}


def shifts(count: int, hours: int = 8, start: datetime | None = None) -> list[dict[str, Any]]:
    """``count`` back-to-back shifts of ``hours`` each, from 2024-02-14 06:00 WIB."""
    first = start or datetime(2024, 2, 14, 6, tzinfo=WIB)
    return [
        {
            "id": f"s{i}",
            "start": (first + timedelta(hours=hours * i)).isoformat(),
            "end": (first + timedelta(hours=hours * (i + 1))).isoformat(),
        }
        for i in range(count)
    ]


def unit(uid: str, headcount: int = 1, **extra: Any) -> dict[str, Any]:
    """A Polri samapta unit based at HOME unless told otherwise."""
    data: dict[str, Any] = {
        "id": uid,
        "force": "polri",
        "type": "samapta",
        "headcount": headcount,
        "home": {"region": "pwk", "location": HOME},
    }
    data.update(extra)
    return data


def ring(number: int = 1, capacity: int = 10, minimum: int = 1, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"number": number, "capacity": capacity, "min_headcount": minimum}
    data.update(extra)
    return data


def venue(vid: str = "kpu", rings: list[dict[str, Any]] | None = None, **extra: Any) -> dict:  # type: ignore[type-arg]
    data: dict[str, Any] = {
        "id": vid,
        "kind": "kpu_regency",
        "region": "pwk",
        "location": HOME,
        "risk": "low",
        "rings": rings if rings is not None else [ring()],
    }
    data.update(extra)
    return data


def instance_data(
    venues: list[dict[str, Any]],
    units: list[dict[str, Any]],
    shift_list: list[dict[str, Any]] | None = None,
    rules: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "name": "tiny",
        "regions": [
            {"id": "jabar", "level": "province"},
            {"id": "pwk", "level": "regency", "parent": "jabar"},
        ],
        "venues": venues,
        "units": units,
        "shifts": shift_list if shift_list is not None else shifts(1),
        "rules": rules or {},
    }


def make(
    venues: list[dict[str, Any]],
    units: list[dict[str, Any]],
    shift_list: list[dict[str, Any]] | None = None,
    rules: dict[str, Any] | None = None,
) -> Instance:
    return parse_instance(instance_data(venues, units, shift_list, rules))


def two_posts_week() -> Instance:
    """Six officers for two posts (needing two and one) around the clock for a week of
    three 8 h shifts, 8 h of rest and at most 5 days on duty in a row."""
    return make(
        [venue("a", rings=[ring(1, 10, 2)]), venue("b", rings=[ring(1, 10, 1)])],
        [unit(f"u{i}") for i in range(6)],
        shifts(21),
        {"min_rest_hours": 8, "max_consecutive_days": 5},
    )


def solve_checked(instance: Instance, **options: Any) -> Result:
    """Solve and re-check the plan with the independent checker; coverage must agree."""
    options.setdefault("time_limit", 20.0)
    options.setdefault("workers", 2)
    result = solve(instance, **options)
    report = check_plan(instance, result.plan)
    assert report.ok, report.violations
    recomputed = {key: row.shortfall for key, row in report.coverage.items()}
    reported = {(r.venue, r.ring, r.shift): r.shortfall for r in result.coverage}
    assert reported == recomputed
    return result


def placed(result: Result) -> set[tuple[str, str, int, str]]:
    """The plan as a set of (unit, venue, ring, shift)."""
    return {(a.unit, a.venue, a.ring, a.shift) for a in result.plan.assignments}


def busy_instance(venues: int = 16, units: int = 100, shift_count: int = 6) -> Instance:
    """A deliberately hard instance: distinct homes and mixed headcounts, too few people.

    No two units are interchangeable and resources are short, so CP-SAT keeps searching for
    many seconds; used where a test needs a solve still running when it acts.
    """
    venue_list = [
        venue(
            f"v{k}",
            rings=[ring(1, 6, 2), ring(2, 12, 4), ring(3, 30, 6)],
            location={"lat": -6.2 - 0.02 * (k % 8), "lon": 106.8 + 0.02 * (k // 8)},
            risk=("low", "medium", "high", "very_high")[k % 4],
        )
        for k in range(venues)
    ]
    unit_list = [
        unit(
            f"u{i}",
            headcount=1 + (i * 7) % 5,
            home={
                "region": "pwk",
                "location": {"lat": -6.1 - 0.003 * i % 0.3, "lon": 106.7 + 0.0021 * i % 0.25},
            },
            **({"force": "tni", "type": "infantry", "standby": True} if i % 6 == 0 else {}),
        )
        for i in range(units)
    ]
    return make(venue_list, unit_list, shifts(shift_count))


def greedy_plans(data: ModelData) -> list[npt.NDArray[np.int64]]:
    """The counts of the greedy plan of every slot order, police first and not."""
    return [
        greedy_counts(data, police_first=police_first, order=order)
        for police_first in (True, False)
        for order in ("weight", "day", "time")
    ]


def start_serve(*args: str, env: dict[str, str] | None = None) -> tuple[Popen[str], str]:
    """``ringplan serve ARGS`` in a process of its own; returns it and the address it serves
    on, once it says so. The server's log (stderr) is discarded; stdout stays readable."""
    process = Popen(
        [sys.executable, "-m", "ringplan", "serve", *args],
        stdout=PIPE,
        stderr=DEVNULL,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("ringplan serving on "):
        process.kill()
        process.wait()
        raise AssertionError(f"ringplan serve did not start: {line!r}")
    return process, line.split()[-1]


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@contextmanager
def held(pid: int, seconds: float) -> Iterator[None]:
    """The process stopped (SIGSTOP) for ``seconds`` from the start of the block, then let go
    on: a solver process that takes that long to take its next task, as a fresh one does while
    it imports the solver. How long a fresh one takes varies with the machine's load (13 s and
    26 s niced at load 10 here); a held one takes a known time."""
    os.kill(pid, signal.SIGSTOP)
    timer = threading.Timer(seconds, os.kill, (pid, signal.SIGCONT))
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``condition`` until it holds; fail saying ``what`` did not happen after ``timeout``
    seconds. Returns the seconds it took.

    Tests wait on what they need rather than sleeping for a guess: a loaded two-core machine
    stretches any fixed pause, and the deadline is generous because only a broken behaviour
    should ever reach it.
    """
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, f"{what} (waited {timeout:g} s)"
        time.sleep(0.02)
    return time.monotonic() - start
