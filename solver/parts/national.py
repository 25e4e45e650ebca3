"""Plan an instance in independent parts, in this process or on Dask, with the national reserve.

Never one model of the whole instance: the instance is split on the domain first
(:mod:`solver.parts.split`), each part is planned alone by :func:`solver.solve` as a task of
plain data (:mod:`solver.parts.task`), parts run where :class:`Mode` says
(:mod:`solver.parts.runner`), the national reserve is allocated between them
(:mod:`solver.parts.reserve`), and the plans are put side by side (:func:`merge`). Memory grows
with the largest part, not with the instance.

When the cluster is used (``mode="auto"``, the default of :func:`solver.solve`):

* ``scheduler`` given: always, on that cluster;
* otherwise the embedded ``LocalCluster`` (one worker process per core) when there are at
  least two parts and the instance has at least :data:`CLUSTER_UNITS` units (national size):
  starting it costs a few seconds, which only large instances repay;
* otherwise parts run one by one in this process.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from solver.decompose import Part, part_instance
from solver.domain import Assignment, Instance, ObjectiveTerm, Plan
from solver.explain import explained_coverage
from solver.model.data import build_slots
from solver.model.objective import strict_weights
from solver.parts.first import FirstPlan, OnFirstPlan, slice_outcome
from solver.parts.reserve import (
    Kind,
    allocate,
    kind_of,
    reserve_unit,
    weighted_shortfall,
)
from solver.parts.runner import (
    DEFAULT_MEMORY_LIMIT,
    ClusterStart,
    DaskRunner,
    InProcessRunner,
    PartRunner,
    cores,
)
from solver.parts.split import (
    DomainPart,
    connected_parts,
    cut_groups,
    domain_parts,
    reach,
    unreached_venues,
)
from solver.parts.task import FixedWork, PartOutcome, PartTask
from solver.report import slot_coverage
from solver.result import (
    Activation,
    Coverage,
    Dispatch,
    PartSummary,
    Progress,
    Result,
    SolveStatus,
    relative_gap,
)

logger = logging.getLogger(__name__)

CLUSTER_UNITS = 5_000
"""Units from which ``mode="auto"`` plans on the embedded cluster (the suite's province and
capital have under 500; the nation 26,437)."""

PARTS_UNITS = 5_000
"""Units from which ``mode="auto"`` plans in parts at all (below, and with no reserve nor
scheduler, :func:`solver.solve` plans as it always has)."""

QUICK_PAIRS_PER_SECOND = 600
"""(unit, venue) pairs a worker gives a quick plan (greedy from the part's slice of the first
whole plan and a repair of :data:`QUICK_REPAIR_WORK`) per second, as measured on the tight
nation while other work loaded the machine (1-minute load 9-11): 260,550 pairs in 345 parts
in 225 s on two workers (580 a second each), the largest 182 parts of them in 190 s (about
600); at a load of 4-6, 311,974 pairs in 160 s (980). :func:`choose_parts` cuts parts until
the quick plans fit :data:`QUICK_SHARE` of the workers' time."""

QUICK_REPAIR_WORK = 500_000
"""Most moves the repair of a quick plan weighs (a quarter of the repair's own limit): on a
whole province of 17,265 pairs it takes the weighted shortfall from the greedy plan's 140,642
to 130,515 in 10.6 s, where the full repair reaches 128,584 in some 23 s; the time saved keeps
more provinces whole, which is worth more (see :data:`QUICK_SHARE`). The parts too big to be
searched get the full repair from their plan in the search round."""

QUICK_SHARE = 0.75
"""Share of the workers' time the first plans of all parts may take; the reserve's rounds and
the search have the rest. A province kept whole pays more than any search: on the tight
nation the quick plans of two whole provinces are 30-31 % less short than those of their
regencies (weighted, 143,654 against 205,068 and 244,529 against 353,634), while a search of
2-30 s from the quick plan found nothing better on any of five parts tried (111 to 17,265
pairs), nor did a repair weighing 16 times more moves."""

SEARCH_MAX_PAIRS = 8_000
"""Parts with more pairs are not searched: their model does not even build within the budget
the nation leaves them (a search of 10 s on 9,050 pairs took 16 s, one of 30 s on 17,265
pairs 39 s, neither better); they get the repair's full work from their plan instead
(:data:`QUICK_REPAIR_WORK`), and the parts searched share the time."""

RESERVE_SHARE = 0.9
"""Share of the time left after the first plans that the reserve's rounds may use (they end
early when the pool is empty or no part improves); the search round has the rest. On the
tight nation one reserve round of 35 s lowered the weighted shortfall by 13 % (5,619,318 to
4,906,620), the search after it nothing."""

QUICK_ROUND_SHARE = 0.7
"""Share of the time left when the first plans start that their round may take, so that the
reserve's rounds keep some time at any load: at its end the parts still planning return their
plan so far and those not started keep their slice of the first whole plan. On the tight
nation the reserve's first round lowered the weighted shortfall by 13 % when it had 33 s
(5,481,427 to 4,671,706); a round of first plans that ran to 240 s of 280 (at a load of
9-11) left it 20 s and 5 of its 61 re-plans (5,379,679 in the end), and at 0.8 one that ran
to 215 s (load 15-19) left it 44 s and 8 of its 51 (6,060,541 after the first plans, 5,303,799
in the end). The first plans of all parts together gain little on the first whole plan
(5,481,427 against 5,549,606 at best), the reserve much more."""

QUICK_PER_WAVE_PAIR = 0.006
"""Quick-plan pairs a worker does a second per (unit, venue) pair a second of the first whole
plan (see :func:`quick_rate`). Measured on the tight nation: in one niced process at a load of
8-14, quick plans of 46 parts ran at 453 pairs a second and the wave planner at 28,000-59,000
(0.010); in the run at ``956759f`` on a quiet machine the two workers gave 1,350 a second
beside the calling process while the wave plan took some 2.5 s (240,000 a second: 0.0056).
The workers' figure is the one that counts: the calling process takes CPU from them."""

QUICK_RATE_RANGE = (400.0, 2_000.0)
"""Least and most pairs a second :func:`quick_rate` gives."""

RATE_MIN_PAIRS = 100_000
"""Pairs from which the first whole plan's speed measures the machine (a smaller plan's time
is mostly fixed costs)."""

MERGE_SECONDS = 3.0
"""Seconds kept back from the budget to merge the parts' plans (plus 2 % of it and
:data:`MERGE_SECONDS_PER_ROW`)."""

MERGE_SECONDS_PER_ROW = 140e-6
"""Seconds kept back per ring-shift of the instance (its coverage rows, and the assignments
that grow with them), for the last round's grace, closing the cluster and merging: on the
tight nation (3,752 rings x 21 shifts: 78,792 rows) these took 15.7 s on a loaded machine,
7.1 s more than the 3 s and 2 % then kept back (8.6 s of 280); now 11.0 s more are kept back
(19.6 s of 280). Small instances keep back what they did."""


class Mode(StrEnum):
    """Where the parts of an instance run."""

    AUTO = "auto"
    """See the module's rule."""
    OFF = "off"
    """No domain split: :func:`solver.solve` as before (it splits its model data itself)."""
    IN_PROCESS = "in-process"
    """Split, and parts one by one in this process."""
    LOCAL = "local"
    """Split, and parts on an embedded ``LocalCluster``."""


@dataclass(frozen=True)
class PartsProgress:
    """How far the parts are: reported each time a part returns a plan."""

    round: str
    """``"plan"`` for the first plans, ``"reserve N"`` for the reserve's rounds."""
    done: int
    total: int
    planned: int
    """Parts with a plan so far (over all rounds)."""
    shortfall: int
    """Missing headcount-shifts in the latest plans of the parts planned so far."""
    elapsed: float
    weighted: int = 0
    """The same shortfall weighted by risk and ring."""


PartsCallback = Callable[[PartsProgress], None]


def uses_parts(instance: Instance, mode: Mode, scheduler: str | None) -> bool:
    """Whether :func:`solver.solve` plans ``instance`` through :func:`solve_in_parts`."""
    if mode is Mode.OFF:
        return False
    if mode is not Mode.AUTO or scheduler is not None or instance.reserve:
        return True
    return len(instance.units) >= PARTS_UNITS


@dataclass
class _State:
    """Parts and their latest outcomes."""

    instance: Instance
    parts: list[DomainPart]
    start: float
    callback: PartsCallback | None
    outcomes: dict[int, PartOutcome] = field(default_factory=dict)
    failures: dict[int, str] = field(default_factory=dict)
    sent: dict[int, list[Dispatch]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    solver: Callable[..., Result] | None = None
    """The one-instance solve each part's search calls (see :attr:`PartTask.solver`)."""
    connected: Sequence[DomainPart] = ()
    """The instance's connected parts, uncut (:func:`~solver.parts.split.connected_parts`):
    the groups the parts were cut out of."""
    cpu_start: float = 0.0
    """This process's CPU time (``time.process_time()``) when the solve began."""

    def clock(self) -> str:
        """Seconds since the solve began, and this process's CPU seconds (its threads: the
        embedded scheduler's and nannies' too), for the rounds' log."""
        return _clock(self.start, self.cpu_start)

    def report(self, round_name: str, done: int, total: int) -> None:
        if self.callback is None:
            return
        with self.lock:
            # The parts' own sums: adding every row of every part at each report made the
            # caller's work grow with the square of the parts.
            short = sum(o.shortfall for o in self.outcomes.values())
            weighted = sum(o.weighted_shortfall for o in self.outcomes.values())
            planned = sum(1 for o in self.outcomes.values() if o.assignments or o.objective)
        self.callback(
            PartsProgress(
                round=round_name,
                done=done,
                total=total,
                planned=planned,
                shortfall=short,
                elapsed=time.perf_counter() - self.start,
                weighted=weighted,
            )
        )


def _clock(start: float, cpu_start: float) -> str:
    """See :meth:`_State.clock`."""
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return f"{wall:.1f} s (this process: {cpu:.1f} s of CPU)"


def _part_instance(state: _State, index: int) -> Instance:
    """The part's instance, with the reserve units sent to it and only the regions its venues
    and units name (with their provinces): the nation's 552 regions in each of some 500
    tasks were most of what the caller sent and each worker validated again."""
    part = state.parts[index]
    sub = part_instance(state.instance, Part(part.venues, part.units))
    units = sub.units
    if state.sent.get(index):
        venues = {v.id: v for v in state.instance.venues}
        reserve = {r.id: r for r in state.instance.reserve}
        units += tuple(
            reserve_unit(state.instance, reserve[d.unit], venues[d.venue])
            for d in state.sent[index]
        )
    named = {v.region for v in sub.venues} | {u.home.region for u in units}
    named |= {r.parent for r in sub.regions if r.id in named and r.parent is not None}
    regions = tuple(r for r in sub.regions if r.id in named)
    return sub.model_copy(update={"units": units, "regions": regions, "reserve": ()})


def _as_progress(
    part_progress: PartsCallback | None, progress: Callable[[Progress], None], instance: Instance
) -> PartsCallback:
    """A parts callback that also reports to a solve's ``progress`` callback."""

    def report(p: PartsProgress) -> None:
        if part_progress is not None:
            part_progress(p)
        progress(
            Progress(
                objective=p.weighted,
                best_bound=0,
                gap=relative_gap(p.weighted, 0),
                elapsed=p.elapsed,
                stage=0,
                parts_done=p.done,
                parts_total=p.total,
                shortfall=p.shortfall,
            )
        )

    return report


def choose_parts(
    instance: Instance,
    seconds: float,
    lanes: int,
    reached: list[npt.NDArray[np.int64]] | None = None,
    rate: float = QUICK_PAIRS_PER_SECOND,
    connected: Sequence[DomainPart] | None = None,
) -> list[DomainPart]:
    """The parts to plan: connected parts, cut along provinces (and a province along regions)
    only where one part's quick plan (its pairs at ``rate`` a second, by default
    :data:`QUICK_PAIRS_PER_SECOND`; :func:`quick_rate` measures it) would take longer than
    :data:`QUICK_SHARE` of one worker's ``seconds``; if the quick plans of all parts still
    take longer than that share of ``lanes`` workers' time, the biggest parts are cut into
    their regions, one after another, until they fit: the smaller provinces stay whole, their
    units' reach across regencies kept. ``reached`` is :func:`~solver.parts.split.reach` of
    the instance and ``connected`` its connected parts, when already computed."""
    per_worker = int(rate * QUICK_SHARE * seconds)
    reached = reach(instance) if reached is None else reached
    return domain_parts(
        instance, per_worker, reached, total_pairs=per_worker * lanes, connected=connected
    )


def _budgets(sizes: Sequence[int], seconds: float, workers: int) -> list[float]:
    """Each part's share of ``workers`` x ``seconds``, none more than ``seconds``."""
    total = sum(sizes) or 1
    return [min(seconds, seconds * workers * size / total) for size in sizes]


Settings = tuple[int | None, str, int]
"""(seed, preset, CP-SAT workers) of every part's solve."""


def _tasks(
    state: _State,
    indices: Sequence[int],
    deadline: float,
    lanes: int,
    settings: Settings,
    hint: bool = False,
) -> list[PartTask]:
    """Tasks for the parts ``indices`` (with the reserve units sent to them), each with its
    share of the time to ``deadline`` on ``lanes`` workers, largest first (by pairs: the order
    the runner starts them in, so that the workers end the round together); with ``hint``,
    warm-started from the part's latest plan."""
    seed, preset, workers = settings
    # The groups kept whole after the first plans (their slices) come last in the parts, and
    # their quick plans are the longest of the search round (10-53 s on the tight nation):
    # sent last, they left one worker 9 s alone at its end.
    indices = sorted(indices, key=lambda i: -state.parts[i].pairs)
    seconds = max(0.5, deadline - time.time())
    budgets = _budgets([state.parts[i].pairs for i in indices], seconds, lanes)
    return [
        PartTask(
            index=i,
            instance=_part_instance(state, i).model_dump(mode="json"),
            budget=budget,
            deadline=deadline,
            seed=seed,
            preset=preset,
            workers=workers,
            hint=state.outcomes[i].assignments if hint else (),
            solver=state.solver,
        )
        for i, budget in zip(indices, budgets, strict=True)
    ]


def _cluster_start(
    mode: Mode, scheduler: str | None, n_units: int, n_workers: int | None, memory_limit: str
) -> ClusterStart | None:
    """The cluster the parts may run on, started at once (see :class:`ClusterStart`), or None
    when they run in this process whatever their number."""
    if scheduler is None and mode is not Mode.LOCAL:
        # A daemonic process (a service's solver process) may not start worker processes.
        daemonic = multiprocessing.current_process().daemon
        if mode is not Mode.AUTO or n_units < CLUSTER_UNITS or daemonic:
            return None
    return ClusterStart(scheduler, n_workers=n_workers, memory_limit=memory_limit)


@contextmanager
def _runner(
    mode: Mode,
    scheduler: str | None,
    n_parts: int,
    cluster: ClusterStart | None,
    stop: threading.Event | None,
) -> Iterator[PartRunner]:
    """Where the parts run: on ``cluster`` (in ``mode="auto"`` with no ``scheduler``, only
    when there are at least two parts), else in this process. The cluster is closed on exit
    (in the background: see :meth:`ClusterStart.join`)."""
    try:
        if cluster is None or (mode is Mode.AUTO and scheduler is None and n_parts < 2):
            yield InProcessRunner(stop)
        else:
            yield DaskRunner(cluster, stop)
    finally:
        if cluster is not None:
            cluster.close()


def solve_in_parts(
    instance: Instance,
    *,
    time_limit: float,
    mode: Mode = Mode.AUTO,
    scheduler: str | None = None,
    preset: str = "default",
    seed: int | None = None,
    workers: int = 1,
    stop: threading.Event | None = None,
    part_progress: PartsCallback | None = None,
    n_workers: int | None = None,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    fixed_work: FixedWork | None = None,
    cut_for: tuple[float, int] | None = None,
    progress: Callable[[Progress], None] | None = None,
    solver: Callable[..., Result] | None = None,
    first_plan: OnFirstPlan | None = None,
    slices: bool = True,
) -> Result:
    """Plan ``instance`` in independent parts within ``time_limit`` seconds (see the module).

    ``workers`` are CP-SAT's per part in this process (one on a cluster worker, which has one
    thread); ``n_workers`` and ``memory_limit`` size the embedded cluster. With
    ``fixed_work`` every part searched does that work (:class:`~solver.parts.task.FixedWork`)
    instead of searching for its share of the time, and with ``cut_for`` (seconds, workers)
    the parts are cut for that time on that many workers instead of the time limit on the
    workers there are: so that runs on different numbers of workers do the same work. ``progress``
    is called as ``part_progress`` is, with a :class:`~solver.result.Progress` whose parts
    fields are set (its objective is the weighted shortfall so far). ``solver`` is the
    one-instance solve each part's search calls (:func:`solver.solve` hands itself down);
    without it, parts get their quick plans only. ``first_plan`` is called with the first whole
    plan (:mod:`solver.parts.first`) and the seconds since the call, as soon as it is made.
    Without ``slices``, groups cut into parts keep their parts' plans even where their slice
    of the first whole plan is less short (to measure what :func:`_keep_slices` gains).
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    wall_deadline = time.time() + time_limit - _kept_back(instance, time_limit)
    lanes = _lanes(instance, mode, scheduler, n_workers)
    reached = reach(instance)
    # The first whole plan, made here before the cluster starts: how fast it runs measures
    # this machine now (quick_rate), and starting the cluster beside it would slow it down.
    first = FirstPlan(instance, reached, wall_deadline, start, first_plan)
    # The cluster starts (its workers' processes import the solver) while this process cuts
    # the parts and builds their tasks.
    cluster = _cluster_start(mode, scheduler, len(instance.units), n_workers, memory_limit)
    try:
        seconds, cut_lanes = cut_for or (max(1.0, wall_deadline - time.time()), lanes)
        rate = QUICK_PAIRS_PER_SECOND if cut_for else quick_rate(first)
        connected, parts = _cut(instance, reached, seconds, cut_lanes, rate)
        logger.info("parts cut at %s", _clock(start, cpu_start))
    except BaseException:
        if cluster is not None:
            cluster.join()
        raise
    callback = part_progress
    if progress is not None:
        callback = _as_progress(part_progress, progress, instance)
    state = _State(
        instance, parts, start, callback, solver=solver, connected=connected, cpu_start=cpu_start
    )
    split_time = time.perf_counter() - start
    _report_first(state, first)
    first_whole: float | None = None
    if parts:
        with _runner(mode, scheduler, len(parts), cluster, stop) as runner:
            per_part_workers = workers if isinstance(runner, InProcessRunner) else 1
            settings: Settings = (seed, preset, per_part_workers)
            first_whole = _plan_parts(
                state, runner, first, wall_deadline, settings, stop, fixed_work, slices
            )
            logger.info("rounds done at %s", state.clock())
    split = f"planned in {len(parts)} parts (split in {split_time:.1f} s)"
    return _finish(state, cluster, split, first_whole)


def _lanes(instance: Instance, mode: Mode, scheduler: str | None, n_workers: int | None) -> int:
    """Workers the parts will have (a cluster apart reports its own once reached)."""
    in_process = mode is Mode.IN_PROCESS or (
        mode is Mode.AUTO and scheduler is None and len(instance.units) < CLUSTER_UNITS
    )
    return 1 if in_process else n_workers or (cores() if scheduler is None else 2)


def _finish(
    state: _State, cluster: ClusterStart | None, split: str, first_whole: float | None
) -> Result:
    """The parts' plans merged (the cluster closes meanwhile), with the ``split`` warning
    first and the times from the call."""
    result = merge(state, time.perf_counter() - state.start)
    logger.info("parts merged at %s", state.clock())
    if cluster is not None:
        cluster.join()
        logger.info("cluster closed at %s", state.clock())
    return result.model_copy(
        update={
            "first_solution_time": first_whole,
            "wall_time": time.perf_counter() - state.start,
            "warnings": (split, *result.warnings),
        }
    )


def _cut(
    instance: Instance,
    reached: list[npt.NDArray[np.int64]],
    seconds: float,
    lanes: int,
    rate: float,
) -> tuple[list[DomainPart], list[DomainPart]]:
    """The instance's connected parts, and the parts to plan (:func:`choose_parts` for
    ``seconds`` on ``lanes`` workers at ``rate`` pairs a second)."""
    connected = connected_parts(instance, reached)
    parts = choose_parts(instance, seconds, lanes, reached, rate, connected)
    logger.info("cut at %.0f pairs a second: %d parts", rate, len(parts))
    return connected, parts


def _plan_parts(
    state: _State,
    runner: PartRunner,
    first: FirstPlan,
    wall_deadline: float,
    settings: Settings,
    stop: threading.Event | None,
    fixed_work: FixedWork | None,
    slices: bool = True,
) -> float | None:
    """The rounds of :func:`solve_in_parts` on ``runner``: the first plans, the reserve's, the
    search; returns the seconds from the call to the first whole plan (None if none)."""
    parts, start = state.parts, state.start
    # Round 1: every part's quick plan, from its slice of the first whole plan (topped up by
    # greedy and repaired, no search), for its share of the time: the parts late at its end
    # keep their slice (see _fall_back).
    hints = first.hints(parts)
    quick_deadline = time.time() + (wall_deadline - time.time()) * QUICK_ROUND_SHARE
    quick = [
        replace(task, quick=True, hint=hints.get(task.index, ()), repair_work=QUICK_REPAIR_WORK)
        for task in _tasks(state, range(len(parts)), quick_deadline, 1, settings)
    ]
    _round(state, runner, quick, quick_deadline, "first plans", keep_better=False)
    late = _fall_back(state, quick)
    logger.info("first plans done at %s", state.clock())
    first_whole = first.elapsed
    if first_whole is None and len(state.outcomes) == len(parts):
        first_whole = time.perf_counter() - start
    whole: set[int] = set()
    if slices and not _asked(stop):
        late, whole = _slices(state, first, late)
        parts = state.parts
    # The reserve's rounds on the quick plans, for their share of the time left (none after a
    # stop, nor the search).
    if state.instance.reserve and not _asked(stop):
        reserve_deadline = time.time() + (wall_deadline - time.time()) * RESERVE_SHARE
        _coordinate(state, runner, reserve_deadline, settings, stop, whole)
    # Last, every part searched from its plan (with the reserve units it received) for its
    # share of the time, or, if too big to gain from a search or late in the first round,
    # planned quickly again from it with the repair's full work; a part keeps the better plan.
    if state.solver is not None and not _asked(stop):
        planned = [i for i in range(len(parts)) if i in state.outcomes]
        tasks = [
            task
            if parts[task.index].pairs <= SEARCH_MAX_PAIRS and task.index not in late
            else replace(task, quick=True)
            for task in _tasks(state, planned, wall_deadline, runner.workers, settings, hint=True)
        ]
        if fixed_work is not None:
            tasks = [fixed_work.apply(task) for task in tasks]
        _round(state, runner, tasks, wall_deadline, "search", keep_better=True)
    return first_whole


def _slices(state: _State, first: FirstPlan, late: set[int]) -> tuple[set[int], set[int]]:
    """The slices step after the first plans: groups cut into parts whose plans together fall
    short of the group's slice of the first whole plan take that slice as one part instead
    (:func:`_keep_slices`), reported as a round of its own. Returns the parts ``late`` in the
    first plans and the groups kept whole, as indices of the parts after the change."""
    late, whole = _keep_slices(state, first, late)
    if whole:
        state.report("slices", len(whole), len(whole))
    logger.info("slices compared at %s", state.clock())
    return late, whole


def quick_rate(first: FirstPlan) -> float:
    """(unit, venue) pairs a worker gives a quick plan per second on this machine now,
    measured by how fast the first whole plan ran (:data:`QUICK_PER_WAVE_PAIR` of its pairs
    a second, within :data:`QUICK_RATE_RANGE`); :data:`QUICK_PAIRS_PER_SECOND` when the
    instance is too small to measure (:data:`RATE_MIN_PAIRS`) or there is no first plan."""
    speed = first.pairs_per_second()
    if speed is None or first.pairs < RATE_MIN_PAIRS:
        return QUICK_PAIRS_PER_SECOND
    low, high = QUICK_RATE_RANGE
    return min(high, max(low, QUICK_PER_WAVE_PAIR * speed))


def _losing_cuts(state: _State, first: FirstPlan) -> dict[int, tuple[int, int]]:
    """The groups (connected parts) cut into parts whose plans together are shorter of people
    (weighted) than the group's slice of the first whole plan, the group's venues that no
    planned part holds counted short of all they require: (parts' shortfall, slice's) by
    group."""
    if first.plan is None or not first.plan.venue_weighted:
        return {}
    instance, parts, by_venue = state.instance, state.parts, first.plan.venue_weighted
    losing: dict[int, tuple[int, int]] = {}
    for group, members in cut_groups(parts).items():
        planned = [i for i in members if i in state.outcomes]
        held = {v for i in planned for v in parts[i].venues}
        venues = state.connected[group].venues
        rows = _unreached_rows(instance, [v for v in venues if v not in held])
        short = weighted_shortfall(instance, [row.model_dump(mode="json") for row in rows])
        short += sum(state.outcomes[i].weighted_shortfall for i in planned)
        sliced = sum(by_venue[v] for v in venues)
        if sliced < short:
            losing[group] = (short, sliced)
    return losing


def _keep_slices(state: _State, first: FirstPlan, late: set[int]) -> tuple[set[int], set[int]]:
    """Give each group that was cut and whose parts plan worse than its slice of the first
    whole plan (:func:`_losing_cuts`) that slice, as one part in place of its parts.

    A group is cut because its quick plan does not fit its time; its slice keeps every unit's
    reach across the cut, which its parts drop. The slice's outcome is worked out here from
    the domain (:func:`~solver.parts.first.slice_outcome`: a fraction of a second, where the
    group's model data would take a worker 10-70 s). Returns the parts ``late`` in the first
    plans and the groups kept whole, as indices of the parts after the change.
    """
    losing = _losing_cuts(state, first)
    n = len(state.parts)
    state.parts = [*state.parts, *(state.connected[g] for g in losing)]
    hints = first.hints(state.parts)
    kept: dict[int, PartOutcome] = {}
    for i, group in enumerate(losing, start=n):
        members = [
            state.outcomes[k]
            for k in range(n)
            if state.parts[k].group == group and k in state.outcomes
        ]
        uppers = [
            max(o.uppers[k] for o in members)
            if term is ObjectiveTerm.BALANCE
            else sum(o.uppers[k] for o in members)
            for k, term in enumerate(state.instance.rules.priorities)
        ]
        kept[i] = slice_outcome(state.instance, state.parts[i], hints.get(i, ()), i, uppers)
    logger.info("%d cut groups keep their slice of the first whole plan", len(kept))
    return _regroup(state, n, kept, late)


def _regroup(
    state: _State, n: int, kept: dict[int, PartOutcome], late: set[int]
) -> tuple[set[int], set[int]]:
    """Keep the first ``n`` parts but those of the groups in ``kept`` (indices of whole groups
    past ``n``, with their outcomes), and those groups; parts are numbered again."""
    groups = {state.parts[i].group for i in kept}
    order = [i for i in range(n) if state.parts[i].group not in groups] + sorted(kept)
    new_of = {old: new for new, old in enumerate(order)}
    outcomes = {**state.outcomes, **kept}
    state.parts = [state.parts[i] for i in order]
    state.outcomes = {
        new_of[i]: replace(o, index=new_of[i]) for i, o in outcomes.items() if i in new_of
    }
    state.failures = {new_of[i]: r for i, r in state.failures.items() if i in new_of}
    return {new_of[i] for i in late if i in new_of}, {new_of[i] for i in kept}


def _kept_back(instance: Instance, time_limit: float) -> float:
    """Seconds of ``time_limit`` kept back after the rounds' deadline (see
    :data:`MERGE_SECONDS`), at most half of it."""
    rows = sum(len(venue.rings) for venue in instance.venues) * len(instance.shifts)
    kept = MERGE_SECONDS + MERGE_SECONDS_PER_ROW * rows + 0.02 * time_limit
    return min(kept, 0.5 * time_limit)


def _fall_back(state: _State, tasks: Sequence[PartTask]) -> set[int]:
    """Give each part of ``tasks`` left without a plan its slice of the first whole plan
    (:attr:`PartTask.hint`, the rows at the part's own venues: a part of a valid plan), worked
    out in this process from the domain (:func:`~solver.parts.first.slice_outcome`, no model
    data); the parts it was given to."""
    late = {task.index for task in tasks if task.index not in state.outcomes}
    instance = state.instance
    for task in tasks:
        if task.index in late:
            part = state.parts[task.index]
            venues = {instance.venues[v].id for v in part.venues}
            rows = [row for row in task.hint if row[1] in venues]
            uppers = [0] * len(instance.rules.priorities)
            try:
                state.outcomes[task.index] = slice_outcome(instance, part, rows, task.index, uppers)
            except MemoryError:
                continue
            state.failures.pop(task.index, None)
    if late:
        logger.info("%d parts late in the first plans keep their first-plan slice", len(late))
    return late


def _asked(stop: threading.Event | None) -> bool:
    """Whether a stop was asked for."""
    return stop is not None and stop.is_set()


def _report_first(state: _State, first: FirstPlan) -> None:
    """Report the first whole plan as the parts' progress (no part done yet, every part with
    a plan)."""
    if first.plan is None or first.elapsed is None or state.callback is None:
        return
    n = len(state.parts)
    state.callback(
        PartsProgress(
            round="first plan",
            done=0,
            total=n,
            planned=n,
            shortfall=first.plan.shortfall,
            elapsed=first.elapsed,
            weighted=first.plan.weighted_shortfall,
        )
    )


def _round(
    state: _State,
    runner: PartRunner,
    tasks: Sequence[PartTask],
    deadline: float,
    name: str,
    keep_better: bool,
) -> None:
    """Run ``tasks`` and keep each part's outcome (with ``keep_better``, only when its objective
    is no worse than the part's plan so far; a part that fails keeps that plan)."""
    done = 0
    busy = _Busy()

    def on_done(outcome: PartOutcome) -> None:
        nonlocal done
        busy.add(outcome)
        with state.lock:
            done += 1
            old = state.outcomes.get(outcome.index)
            better = outcome.objective is not None and (
                not keep_better
                or old is None
                or old.objective is None
                or outcome.objective <= old.objective
            )
            if better:
                state.outcomes[outcome.index] = outcome
        state.report(name, done, len(tasks))

    for index, reason in runner.run(tasks, on_done, deadline):
        if index not in state.outcomes:
            state.failures[index] = reason
    logger.info("%s: %s", name, busy)


class _Busy:
    """How a round kept its workers busy: each worker's seconds in its parts' solves, and when
    its last part came back (a round whose workers end far apart has an uneven tail)."""

    def __init__(self) -> None:
        self.began = time.perf_counter()
        self.seconds: dict[str, float] = {}
        self.parts: dict[str, int] = {}
        self.last: dict[str, float] = {}

    def add(self, outcome: PartOutcome) -> None:
        """Count ``outcome``, come back now."""
        worker = outcome.worker or "local"
        self.seconds[worker] = self.seconds.get(worker, 0.0) + outcome.wall_time
        self.parts[worker] = self.parts.get(worker, 0) + 1
        self.last[worker] = time.perf_counter() - self.began

    def __str__(self) -> str:
        ended = time.perf_counter() - self.began
        workers = "; ".join(
            f"{self.parts[w]} parts, {self.seconds[w]:.1f} s solving, last back at "
            f"{self.last[w]:.1f} s"
            for w in sorted(self.seconds)
        )
        return f"{ended:.1f} s; by worker: {workers or 'none'}"


def _coordinate(
    state: _State,
    runner: PartRunner,
    wall_deadline: float,
    settings: Settings,
    stop: threading.Event | None,
    left_out: set[int] | None = None,
) -> None:
    """The reserve's rounds (:mod:`solver.parts.reserve`) until the pool is empty, no part
    improves, or the time is up; the parts ``left_out`` get no reserve (too big to plan again
    in a round)."""
    pool: dict[Kind, list[str]] = {}
    for unit in state.instance.reserve:
        pool.setdefault(kind_of(unit), []).append(unit.id)
    excluded: set[int] = set(left_out or ())
    round_number = 0
    venues = {v.id: v for v in state.instance.venues}
    while any(pool.values()) and time.time() < wall_deadline - 1.0:
        if stop is not None and stop.is_set():
            return
        round_number += 1
        rows_of = {
            i: [row for row in outcome.coverage if int(row["shortfall"]) > 0]
            for i, outcome in state.outcomes.items()
            if i not in excluded
        }
        rows_of = {i: rows for i, rows in rows_of.items() if rows}
        counts = {kind: len(ids) for kind, ids in pool.items() if ids}
        allocation = allocate(state.instance, counts, rows_of, settings[0] or 0)
        if not allocation:
            return
        given: dict[int, list[Dispatch]] = {}
        for (part, hub), kinds in sorted(allocation.items()):
            for kind, n in kinds.items():
                for _ in range(n):
                    unit_id = pool[kind].pop()
                    given.setdefault(part, []).append(Dispatch(unit=unit_id, venue=hub, part=part))
        before = {i: state.outcomes[i].weighted_shortfall for i in given}
        for i, dispatches in given.items():
            state.sent.setdefault(i, []).extend(dispatches)
        # Each part plans again quickly with its units, from its plan (topped up by greedy
        # and repaired): cheap, and it puts the units where the part lacks people; the search
        # round comes after.
        tasks = [
            replace(task, quick=True, repair_work=QUICK_REPAIR_WORK)
            for task in _tasks(
                state, list(given), wall_deadline, runner.workers, settings, hint=True
            )
        ]
        improved = False
        done = 0
        name = f"reserve {round_number}"

        def on_done(
            outcome: PartOutcome,
            name: str = name,
            before: dict[int, int] = before,
            given: dict[int, list[Dispatch]] = given,
            total: int = len(tasks),
        ) -> None:
            nonlocal improved, done
            i = outcome.index
            after = outcome.weighted_shortfall
            with state.lock:
                done += 1
                better = bool(outcome.assignments) and after < before[i]
                if better:
                    state.outcomes[i] = outcome
                    improved = True
            if not better:
                _give_back(state, pool, i, given[i], venues)
                excluded.add(i)
            state.report(name, done, total)

        failed = runner.run(tasks, on_done, wall_deadline)
        for i, _reason in failed:
            _give_back(state, pool, i, given[i], venues)
            excluded.add(i)
        if not improved:
            return


def _give_back(
    state: _State,
    pool: dict[Kind, list[str]],
    part: int,
    dispatches: Sequence[Dispatch],
    venues: dict[str, Any],
) -> None:
    """Return a round's dispatches to ``part`` into the pool."""
    reserve = {r.id: r for r in state.instance.reserve}
    ids = {d.unit for d in dispatches}
    state.sent[part] = [d for d in state.sent.get(part, []) if d.unit not in ids]
    for unit_id in ids:
        pool.setdefault(kind_of(reserve[unit_id]), []).append(unit_id)


def _provinces(instance: Instance, part: DomainPart) -> tuple[str, ...]:
    parent = {r.id: r.parent or r.id for r in instance.regions}
    return tuple(
        sorted(
            {parent.get(instance.venues[v].region, instance.venues[v].region) for v in part.venues}
        )
    )


def _unreached_rows(instance: Instance, venues: Sequence[int]) -> list[Coverage]:
    """Coverage of venues no unit can reach: all they require is missing."""
    if not venues:
        return []
    sub = instance.model_copy(
        update={"venues": tuple(instance.venues[v] for v in venues), "units": ()}
    )
    return list(slot_coverage(sub, build_slots(sub), reason="no unit can reach this venue"))


Model = TypeVar("Model", bound=BaseModel)


_new, _set = object.__new__, object.__setattr__


def _trusted(cls: type[Model], fields: dict[str, Any]) -> Model:
    """A row of a part's plan made by :mod:`solver.parts.task` from a validated instance,
    rebuilt as ``pickle`` rebuilds a model, without validating it again (the identifiers'
    pattern alone took half the merge of a national plan's rows), its four slots set directly
    (through ``__setstate__`` the merge of the tight nation's 309,838 rows took 30 % longer)."""
    model = _new(cls)
    _set(model, "__dict__", dict(fields))
    _set(model, "__pydantic_fields_set__", set(fields))
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model


class _Totals:
    """What the parts' plans add up to, gathered part by part."""

    def __init__(self, priorities: Sequence[ObjectiveTerm]) -> None:
        self.priorities = tuple(priorities)
        self.uppers = [0] * len(priorities)
        self.breakdown = {term: 0 for term in priorities}
        self.first_bound = 0
        self.assignments: list[Assignment] = []
        self.coverage: list[Coverage] = []
        self.activations: list[Activation] = []
        self.warnings: list[str] = []

    def add(self, outcome: PartOutcome, terms: dict[ObjectiveTerm, int]) -> None:
        """Add a part's plan: terms summed (balance: the largest), rows appended."""
        for k, term in enumerate(self.priorities):
            if term is ObjectiveTerm.BALANCE:
                self.uppers[k] = max(self.uppers[k], outcome.uppers[k])
                self.breakdown[term] = max(self.breakdown[term], terms.get(term, 0))
            else:
                self.uppers[k] += outcome.uppers[k]
                self.breakdown[term] += terms.get(term, 0)
        self.first_bound += outcome.first_term_bound
        self.assignments += [
            _trusted(Assignment, {"unit": u, "venue": v, "ring": r, "shift": s})
            for u, v, r, s in outcome.assignments
        ]
        self.coverage += [_trusted(Coverage, row) for row in outcome.coverage]
        self.activations += [_trusted(Activation, row) for row in outcome.activations]
        self.warnings += [w for w in outcome.warnings if w not in self.warnings]

    def add_unplanned(self, rows: list[Coverage], weighted: int) -> None:
        """Add the rows of venues no plan covers, short by ``weighted``."""
        self.coverage += rows
        if ObjectiveTerm.SHORTFALL in self.breakdown:
            k = self.priorities.index(ObjectiveTerm.SHORTFALL)
            self.uppers[k] += weighted
            self.breakdown[ObjectiveTerm.SHORTFALL] += weighted
            if self.priorities[0] is ObjectiveTerm.SHORTFALL:
                self.first_bound += weighted


def _part_summary(
    state: _State, index: int, part: DomainPart
) -> tuple[PartSummary, PartOutcome | None]:
    """A part's line in the result, and its outcome if it has a plan."""
    instance = state.instance
    outcome = state.outcomes.get(index)
    provinces = _provinces(instance, part)
    common: dict[str, Any] = {
        "index": index,
        "venues": len(part.venues),
        "units": len(part.units),
        "provinces": provinces,
        "cut": part.cut,
        "reserve_units": len(state.sent.get(index, [])),
    }
    if outcome is None or not SolveStatus(outcome.status).has_plan:
        reason = state.failures.get(index, "no plan within its time")
        return PartSummary(**common, status=SolveStatus.NO_SOLUTION, reason=reason), None
    summary = PartSummary(
        **common,
        status=SolveStatus(outcome.status),
        objective=outcome.objective,
        best_bound=outcome.best_bound,
        shortfall_bound=outcome.first_term_bound,
        breakdown={ObjectiveTerm(k): v for k, v in outcome.breakdown.items()},
        wall_time=outcome.wall_time,
    )
    return summary, outcome


def merge(state: _State, elapsed: float) -> Result:
    """The whole instance's result from its parts' latest outcomes.

    Terms are summed over parts (balance: the largest); the objective weighs them with strict
    weights from the parts' upper bounds summed the same way. The bound is the sum of the
    parts' bounds on the first ranked term, in those weights: a valid bound for the instance
    with the reserve relaxed (each part's bound assumes the reserve units it had).
    """
    instance = state.instance
    unreached = _unreached_rows(instance, unreached_venues(instance, state.parts))
    if unreached:  # explained as the model's rows are (rule, reason, remedy); nobody stands there
        unreached = list(explained_coverage(instance, Plan(), unreached))
    unreached_short = weighted_shortfall(
        instance, [row.model_dump(mode="json") for row in unreached]
    )
    totals = _Totals(instance.rules.priorities)
    summaries: list[PartSummary] = []
    for i, part in enumerate(state.parts):
        summary, outcome = _part_summary(state, i, part)
        summaries.append(summary)
        if outcome is None:
            provinces = ", ".join(summary.provinces)
            totals.warnings.append(f"part {i} ({provinces}): no plan: {summary.reason}")
            # Its venues get no one.
            lost = _unreached_rows(instance, part.venues)
            unreached += lost
            unreached_short += weighted_shortfall(
                instance, [row.model_dump(mode="json") for row in lost]
            )
            continue
        totals.add(outcome, dict(summary.breakdown))
    totals.add_unplanned(unreached, unreached_short)
    if not any(s.status.has_plan for s in summaries):
        return Result(
            status=SolveStatus.NO_SOLUTION,
            wall_time=elapsed,
            parts=tuple(summaries),
            warnings=tuple(totals.warnings),
        )
    return _merged_result(state, totals, summaries, elapsed)


def _merged_result(
    state: _State, totals: _Totals, summaries: list[PartSummary], elapsed: float
) -> Result:
    """The result of the parts' plans added up in ``totals``."""
    instance, priorities, breakdown = state.instance, totals.priorities, totals.breakdown
    weights = strict_weights(
        [max(u, breakdown[t]) for u, t in zip(totals.uppers, priorities, strict=True)]
    )
    objective = sum(w * breakdown[t] for w, t in zip(weights, priorities, strict=True))
    bound = (
        min(objective, weights[0] * totals.first_bound)
        if priorities[0] is not ObjectiveTerm.BALANCE
        else 0
    )
    optimal = (
        all(s.status is SolveStatus.OPTIMAL for s in summaries)
        and ObjectiveTerm.BALANCE not in priorities[:-1]
        and not instance.reserve
    )
    warnings = totals.warnings
    if len(summaries) > 1:
        warnings.append(
            "the bound sums the parts' bounds: valid with the national reserve relaxed"
            if instance.reserve
            else "the bound sums the parts' bounds"
        )
    return Result(
        status=SolveStatus.OPTIMAL if optimal else SolveStatus.FEASIBLE,
        objective=objective,
        best_bound=objective if optimal else bound,
        gap=relative_gap(objective, objective if optimal else bound),
        wall_time=elapsed,
        plan=Plan(assignments=tuple(totals.assignments)),
        coverage=tuple(totals.coverage),
        breakdown=breakdown,
        activations=tuple(totals.activations),
        warnings=tuple(warnings),
        parts=tuple(summaries),
        dispatches=tuple(d for i in sorted(state.sent) for d in state.sent[i]),
    )


__all__ = [
    "CLUSTER_UNITS",
    "Mode",
    "PartsCallback",
    "PartsProgress",
    "merge",
    "solve_in_parts",
    "uses_parts",
]
