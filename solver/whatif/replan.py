"""What-if re-planning: apply changes to the instance in force and re-plan with few moves.

:func:`whatif` answers one :class:`WhatIfRequest`; :func:`whatif_batch` answers several named
scenarios at once, solved concurrently, with a comparison table. Requests and responses are
frozen pydantic models that round-trip through JSON.

The re-plan calls :func:`solver.solve` with the plan in force as baseline: shortfall is still
minimised first, then disruption (moved unit-shifts), then the instance's other priorities.
Shifts that started at or before ``now`` are locked to the baseline.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from pydantic import AwareDatetime, Field, field_validator

from solver.checker import check_plan
from solver.domain import Frozen, Instance, Plan
from solver.model.disruption import Baseline
from solver.presets import preset
from solver.result import Progress, Result, SolveStatus
from solver.solve import solve
from solver.validation import InstanceError, PathPart, Problem
from solver.whatif.changes import Change, apply_changes
from solver.whatif.diff import Kpis, PlanDiff, plan_diff, plan_kpis

REPRODUCIBLE_WALL_FACTOR = 4.0
"""In reproducible mode the wall-clock limit is only a safety net: this many times
``time_limit``, while the search itself stops on deterministic time."""


class ReplanOptions(Frozen):
    """How to solve: budget, workers and the reproducible mode."""

    time_limit: float = Field(default=30.0, gt=0)
    """Wall-clock seconds per solve. In reproducible mode, the deterministic budget instead
    (see :attr:`deterministic_time`) with a wall-clock safety net of
    :data:`REPRODUCIBLE_WALL_FACTOR` times this."""
    workers: int = Field(default=2, ge=1)
    """CP-SAT workers per solve (a batch may give each solve fewer)."""
    preset: str = "default"
    """Solver preset; reproducible mode uses ``reproducible``."""
    seed: int | None = None
    reproducible: bool = False
    """Same request, same plan: the ``reproducible`` preset (one interleaved, seeded search)
    stopped by CP-SAT's deterministic time rather than the clock."""
    deterministic_time: float | None = Field(default=None, gt=0)
    """Reproducible mode: CP-SAT deterministic time per priority stage; default
    :attr:`time_limit`."""

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, name: str) -> str:
        preset(name)  # raises ValueError naming the known presets
        return name


MIN_TIME_LIMIT = 0.05
"""The least a re-plan is given once its deadline is near: enough for a greedy plan."""


def by_deadline(options: ReplanOptions, reply_by: float | None, rounds: int = 1) -> ReplanOptions:
    """``options`` with a time limit short enough that ``rounds`` rounds of solves, one
    after another from now, end by ``reply_by``.

    Parameters
    ----------
    options
        The re-plan's options.
    reply_by
        Wall-clock time (``time.time()``) the last round must end by; ``None``: no deadline,
        ``options`` as they are.
    rounds
        Rounds still to run one after another, this one included.

    Returns
    -------
    ReplanOptions
        ``options``, with ``time_limit`` cut to its share of the time left when that is less
        (never under :data:`MIN_TIME_LIMIT`). A reproducible solve's wall-clock safety net is
        :data:`REPRODUCIBLE_WALL_FACTOR` times its time limit, so that net is what has to fit.
    """
    if reply_by is None:
        return options
    factor = REPRODUCIBLE_WALL_FACTOR if options.reproducible else 1.0
    share = (reply_by - time.time()) / max(1, rounds)
    wall = max(MIN_TIME_LIMIT, min(options.time_limit * factor, share))
    return options.model_copy(update={"time_limit": wall / factor})


class WhatIfRequest(Frozen):
    """A baseline (instance and plan in force) and the changes to answer."""

    instance: Instance
    plan: Plan
    """The plan in force, on :attr:`instance`."""
    changes: tuple[Change, ...] = ()
    now: AwareDatetime | None = None
    """Shifts that started at or before this time are locked to the plan in force."""
    options: ReplanOptions = ReplanOptions()


class WhatIfResponse(Frozen):
    """The new plan, what changed, and how the key figures moved."""

    name: str = ""
    """The scenario's name (batch requests)."""
    result: Result
    """The re-plan: status, plan, coverage, objective breakdown (disruption included)."""
    diff: PlanDiff
    before: Kpis
    """The plan in force on the instance before the changes."""
    after: Kpis
    """The new plan on the changed instance."""
    delta: Kpis
    """``after - before``."""
    locked_shifts: tuple[str, ...] = ()
    violations: tuple[str, ...] = ()
    """What the independent checker finds wrong with the new plan (empty when it holds)."""

    @property
    def plan(self) -> Plan:
        """The new plan."""
        return self.result.plan

    def summary(self) -> str:
        """A short text for a person: status, the changes to the plan, the KPI deltas."""
        result = self.result
        head = f"what-if '{self.name}'" if self.name else "what-if"
        status = result.status_line().removeprefix("status: ")
        lines = [f"{head}: {status} in {result.wall_time:.2f} s"]
        if self.locked_shifts:
            lines.append(f"locked (started) shifts: {', '.join(self.locked_shifts)}")
        lines.append(self.diff.summary())
        lines.append("key figures (before -> after, change):")
        for label, field in (
            ("uncovered people-shifts", "shortfall"),
            ("risk-weighted shortfall", "weighted_shortfall"),
            ("TNI / standby soldier-shifts", "tni_headcount_shifts"),
            ("travel km", "travel_km"),
            ("assignments", "assignments"),
        ):
            b, a, d = (getattr(k, field) for k in (self.before, self.after, self.delta))
            lines.append(f"  {label}: {b} -> {a} ({d:+d})")
        for name, mapping in (
            ("risk", self.after.shortfall_by_risk),
            ("ring", self.after.shortfall_by_ring),
        ):
            if mapping:
                text = ", ".join(f"{k}: {v}" for k, v in mapping.items())
                lines.append(f"  shortfall after, by {name}: {text}")
        if self.violations:
            lines.append("the new plan breaks rules:")
            lines += [f"  {v}" for v in self.violations]
        return "\n".join(lines)


def locked_shifts(instance: Instance, now: AwareDatetime | None) -> tuple[str, ...]:
    """Shifts that started at or before ``now``, in instance order."""
    if now is None:
        return ()
    return tuple(s.id for s in instance.shifts if s.start <= now)


def _locked(
    instance: Instance, now: AwareDatetime | None, changes: tuple[Change, ...]
) -> tuple[str, ...]:
    """Shifts to lock: the started ones, or every shift when nothing changes.

    With no changes the plan in force is the answer: locking every shift returns it as is,
    even where a longer search could have improved it.
    """
    if not changes:
        return tuple(s.id for s in instance.shifts)
    return locked_shifts(instance, now)


def _baseline_problems(instance: Instance, plan: Plan) -> list[Problem]:
    report = check_plan(instance, plan)
    return [Problem(("plan",), f"the plan in force breaks a rule: {v}") for v in report.violations]


def check_request(request: WhatIfRequest) -> Instance:
    """The instance with the request's changes applied, once the request is known to be sound.

    Raises
    ------
    InstanceError
        With every problem at once: changes that do not fit the instance
        (``changes[i].field: ...``) and rules the plan in force breaks (``plan: ...``).
    """
    problems = _baseline_problems(request.instance, request.plan)
    try:
        changed = apply_changes(request.instance, request.changes)
    except InstanceError as error:
        problems += error.problems
    if problems:
        raise InstanceError(problems)
    return changed


def check_batch(request: WhatIfBatchRequest) -> list[Instance]:
    """Every scenario's changed instance, once the whole batch is known to be sound.

    Raises
    ------
    InstanceError
        With every problem of every scenario (``scenarios[i].changes[j].field: ...``) and of
        the plan in force.
    """
    problems = _baseline_problems(request.instance, request.plan)
    changed: list[Instance] = []
    for i, scenario in enumerate(request.scenarios):
        try:
            changed.append(apply_changes(request.instance, scenario.changes))
        except InstanceError as error:
            prefix: tuple[PathPart, ...] = ("scenarios", i)
            problems += [Problem(prefix + p.path, p.message) for p in error.problems]
    if problems:
        raise InstanceError(problems)
    return changed


def _replan(
    instance: Instance,
    changed: Instance,
    plan: Plan,
    locked: tuple[str, ...],
    options: ReplanOptions,
    workers: int,
    name: str = "",
    progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
) -> WhatIfResponse:
    wall, preset, sat = options.time_limit, options.preset, None
    if options.reproducible:
        wall, preset = options.time_limit * REPRODUCIBLE_WALL_FACTOR, "reproducible"
        sat = {"max_deterministic_time": options.deterministic_time or options.time_limit}
    result = solve(
        changed,
        time_limit=wall,
        workers=workers,
        preset=preset,
        seed=options.seed,
        baseline=Baseline(plan=plan, locked_shifts=locked),
        progress=progress,
        stop=stop,
        sat_parameters=sat,
    )
    if options.reproducible and result.wall_time >= wall:
        note = "the wall-clock safety net stopped the search: the plan may differ between runs"
        result = result.model_copy(update={"warnings": (*result.warnings, note)})
    before = plan_kpis(instance, plan)
    if not result.status.has_plan:
        # No plan found: nothing to compare; the status says so.
        return WhatIfResponse(
            name=name, result=result, diff=PlanDiff(), before=before, after=before,
            delta=before.minus(before), locked_shifts=locked,
        )  # fmt: skip
    report = check_plan(changed, result.plan)
    after = plan_kpis(changed, result.plan)
    return WhatIfResponse(
        name=name,
        result=result,
        diff=plan_diff(changed, plan, result.plan, frozenset(locked), original=instance),
        before=before,
        after=after,
        delta=after.minus(before),
        locked_shifts=locked,
        violations=tuple(report.violations),
    )


def whatif(
    request: WhatIfRequest,
    *,
    progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
    changed: Instance | None = None,
) -> WhatIfResponse:
    """Re-plan the plan in force under the request's changes, moving as little as possible.

    Parameters
    ----------
    request
        Instance, plan in force, changes, ``now`` and solve options.
    progress
        Called with every improving plan (from solver threads).
    stop
        When set, the search stops soon and the best plan so far is answered.
    changed
        What :func:`check_request` returned for this request, when the caller checked it
        already (a service checks a request when it arrives): it is not checked twice.

    Returns
    -------
    WhatIfResponse
        The new plan, the diff against the plan in force and the KPI deltas. With no changes
        the plan in force is returned unchanged.

    Raises
    ------
    InstanceError
        When a change does not fit the instance (``changes[i].field: ...``) or the plan in
        force breaks a rule of its instance (``plan: ...``).
    """
    if changed is None:
        changed = check_request(request)
    return _replan(
        request.instance,
        changed,
        request.plan,
        _locked(request.instance, request.now, request.changes),
        request.options,
        request.options.workers,
        progress=progress,
        stop=stop,
    )


class Scenario(Frozen):
    """A named set of changes."""

    name: str = Field(min_length=1, max_length=128)
    changes: tuple[Change, ...] = ()


class WhatIfBatchRequest(Frozen):
    """Several scenarios against one baseline, solved concurrently."""

    instance: Instance
    plan: Plan
    scenarios: tuple[Scenario, ...] = Field(min_length=1)
    now: AwareDatetime | None = None
    options: ReplanOptions = ReplanOptions()
    max_parallel: int = Field(default=2, ge=1)
    """Most scenarios solved at the same time."""

    @field_validator("scenarios")
    @classmethod
    def _distinct_names(cls, scenarios: tuple[Scenario, ...]) -> tuple[Scenario, ...]:
        names = [s.name for s in scenarios]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"scenario names must be distinct: {', '.join(dupes)}")
        return scenarios


class ComparisonRow(Frozen):
    """One scenario's line in the comparison table."""

    name: str
    status: SolveStatus
    shortfall: int
    shortfall_delta: int
    weighted_shortfall: int
    moved_unit_shifts: int
    assigned: int
    released: int
    reserve_activated: int
    tni_delta: int
    travel_delta: int
    wall_time: float


class WhatIfBatchResponse(Frozen):
    """Every scenario's answer, in request order, and a comparison table."""

    scenarios: tuple[WhatIfResponse, ...]
    table: tuple[ComparisonRow, ...]
    workers_per_solve: int

    def table_text(self) -> str:
        """The comparison table as aligned text."""
        header = (
            "scenario",
            "status",
            "short",
            "d.short",
            "w.short",
            "moved",
            "assigned",
            "released",
            "tni+",
            "d.tni",
            "d.km",
            "time s",
        )
        rows = [
            (
                r.name,
                r.status.value,
                str(r.shortfall),
                f"{r.shortfall_delta:+d}",
                str(r.weighted_shortfall),
                str(r.moved_unit_shifts),
                str(r.assigned),
                str(r.released),
                str(r.reserve_activated),
                f"{r.tni_delta:+d}",
                f"{r.travel_delta:+d}",
                f"{r.wall_time:.2f}",
            )
            for r in self.table
        ]
        widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
        top = "  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True))
        return "\n".join([top, "  ".join("-" * w for w in widths), *lines])


def comparison_row(response: WhatIfResponse) -> ComparisonRow:
    """The table line of one scenario."""
    return ComparisonRow(
        name=response.name,
        status=response.result.status,
        shortfall=response.after.shortfall,
        shortfall_delta=response.delta.shortfall,
        weighted_shortfall=response.after.weighted_shortfall,
        moved_unit_shifts=response.diff.moved_unit_shifts,
        assigned=response.diff.assigned,
        released=response.diff.released,
        reserve_activated=len(response.diff.activated),
        tni_delta=response.delta.tni_headcount_shifts,
        travel_delta=response.delta.travel_km,
        wall_time=response.result.wall_time,
    )


def batch_workers(requested: int, parallel: int, cores: int | None = None) -> int:
    """Workers per solve so that ``parallel`` solves together use at most the cores."""
    cores = cores or os.cpu_count() or 1
    return max(1, min(requested, cores // max(1, parallel)))


def whatif_batch(
    request: WhatIfBatchRequest,
    *,
    stop: threading.Event | None = None,
    changed: Sequence[Instance] | None = None,
    reply_by: float | None = None,
) -> WhatIfBatchResponse:
    """Answer every scenario of a batch, at most ``max_parallel`` at a time.

    Each solve gets ``min(options.workers, cores // parallel)`` workers (at least one), so the
    batch as a whole stays within the machine's cores.

    Raises
    ------
    InstanceError
        With every problem of every scenario (``scenarios[i].changes[j].field: ...``) or of
        the plan in force, before anything is solved. ``changed``: what :func:`check_batch`
        returned, when the caller checked the batch already (it is not checked twice).
        ``reply_by``: wall-clock time (``time.time()``) the last scenario must be answered by;
        each scenario's time limit is cut, when it starts, to its round's share of the time
        left (see :func:`by_deadline`).
    """
    if changed is None:
        changed = check_batch(request)
    parallel = min(request.max_parallel, len(request.scenarios))
    workers = batch_workers(request.options.workers, parallel)
    rounds = math.ceil(len(request.scenarios) / parallel)

    def answer(index: int, scenario: Scenario, instance: Instance) -> WhatIfResponse:
        options = by_deadline(request.options, reply_by, rounds - index // parallel)
        locked = _locked(request.instance, request.now, scenario.changes)
        return _replan(
            request.instance, instance, request.plan, locked, options, workers, scenario.name,
            None, stop,
        )  # fmt: skip

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        futures = [
            pool.submit(answer, index, scenario, instance)
            for index, (scenario, instance) in enumerate(
                zip(request.scenarios, changed, strict=True)
            )
        ]
        responses = tuple(f.result() for f in futures)
    return WhatIfBatchResponse(
        scenarios=responses,
        table=tuple(comparison_row(r) for r in responses),
        workers_per_solve=workers,
    )


__all__ = [
    "REPRODUCIBLE_WALL_FACTOR",
    "ComparisonRow",
    "ReplanOptions",
    "Scenario",
    "WhatIfBatchRequest",
    "WhatIfBatchResponse",
    "WhatIfRequest",
    "WhatIfResponse",
    "batch_workers",
    "by_deadline",
    "comparison_row",
    "locked_shifts",
    "whatif",
    "whatif_batch",
]
