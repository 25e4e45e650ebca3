"""Independent parts of an instance solved one by one (or at the same time), their plans side
by side.

Parts are solved smallest first, each with time in proportion to its candidates and, in a
cold solve that ranks shortfall first, mostly to its shortfall in the start
(:func:`part_weights`; pass 2 gets what pass 1 leaves, as parts proven optimal early do not
use their time). Until a part is
solved it holds its share of the start, so a plan for the whole instance exists from the start
and a stop returns it. With balance ranked above another term, parts whose busiest unit works
fewer shifts than the overall busiest are solved again with that many shifts as their limit
and balance left out, so that they can buy the later terms with the slack (pass 2); the
combined plan is then optimal when every part solve is.

On two or more workers the parts of a large instance (over the preset's
:attr:`~solver.presets.Preset.concurrent_above` candidates) are planned at the same time
instead, in lanes of processes (:mod:`solver.search.concurrent`): each lane's parts one by one
as above, the lanes side by side, each part's improving plans joining the whole plan as they
come.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from solver.decompose import Part, part_data, part_instance
from solver.domain import Instance, ObjectiveTerm, Plan
from solver.heuristics.greedy import plan_counts
from solver.lns import short_slots
from solver.model.data import ModelData
from solver.model.disruption import BaselineEvaluator
from solver.result import PhaseEnd, PhaseRun, Result, SolveStatus
from solver.search.concurrent import (
    RETURN_MARGIN,
    Lane,
    PartJob,
    PartPool,
    assign_lanes,
    lane_niceness,
    lanes_for,
    run_workers,
)
from solver.search.construct import baseline_start, greedy_start, judge
from solver.search.context import Run
from solver.search.counts import Counts
from solver.search.duty import lane_parameters
from solver.search.incumbent import Incumbent
from solver.search.outcome import make_result
from solver.search.whole import solve_whole

SHORTFALL_SHARE = 0.75
"""Share of a cold solve's time given to parts in proportion to their weighted shortfall in
the start (the rest in proportion to their candidates): the duty windows of a part with
little shortfall are spent within seconds, while a part with much goes on gaining (on the
loose province: 287 -> 176 in 4 s of CPU and no gain after, against 899 -> 660 in 25 s;
benchmarks/RESULTS.md)."""


def part_weights(data: ModelData, parts: list[Part], sizes: list[int], x: Counts) -> list[float]:
    """Each part's share of the time: :data:`SHORTFALL_SHARE` in proportion to its weighted
    shortfall in the plan ``x`` (counts of ``data``), the rest in proportion to its
    candidates ``sizes``; in proportion to the candidates alone when nothing is short."""
    part_of_venue = {v: i for i, part in enumerate(parts) for v in part.venues}
    slots, missing = short_slots(data, x)
    short = np.zeros(len(parts))
    for s, m in zip(slots.tolist(), missing.tolist(), strict=True):
        part = part_of_venue.get(data.slots[s].venue)
        if part is not None:
            short[part] += m
    total, candidates = short.sum(), sum(sizes) or 1
    if total == 0:
        return [float(size) for size in sizes]
    return [
        (1 - SHORTFALL_SHARE) * size / candidates + SHORTFALL_SHARE * short[i] / total
        for i, size in enumerate(sizes)
    ]


def part_budgets(sizes: Sequence[float], now: float, deadline: float) -> list[float]:
    """Deadlines for parts solved in order, each given time in proportion to its size.

    The deadlines are cumulative, so time a part leaves unused goes to the parts after it.
    """
    total = sum(sizes) or 1
    deadlines, used = [], 0.0
    for size in sizes:
        used += size
        deadlines.append(now + (deadline - now) * used / total)
    return deadlines


@dataclass
class _Parts:
    """The state of a solve by parts: the whole instance's plan, each part's latest side by
    side, and what each part's solve returned."""

    instance: Instance
    parts: list[Part]
    run: Run
    data: ModelData
    keeper: Incumbent
    current: Counts
    results: list[Result | None]
    first_weights: list[int]
    started: bool = False
    """Whether :attr:`current` holds a start for every part."""
    cut_time: float = 0.0
    """Seconds spent cutting each part's model data from the whole instance's."""
    trace: list[PhaseRun] = field(default_factory=list)
    combining: threading.Lock = field(default_factory=threading.Lock)

    def put(self, whole: Counts, x: Counts) -> None:
        """Offer part counts ``x`` (at ``whole``) as a plan of the whole instance."""
        with self.combining:
            self.current[whole] = x
            combined = self.current.copy()
        self.keeper.offer(combined, 0)

    def solve_part(self, i: int, sub: Instance, deadline: float) -> None:
        """Solve part ``i`` from its share of the whole plan (when there is a start)."""
        began = time.perf_counter()
        job, whole = self.part_job(i, sub, deadline)
        sub_run = replace(job.run, start=began, forward=lambda x: self.put(whole, x))
        result, first_weight = solve_whole(sub, sub_run, job.data, job.start)
        self.record(i, result, first_weight, began)

    def part_job(
        self, i: int, sub: Instance, deadline: float, workers: int | None = None
    ) -> tuple[PartJob, Counts]:
        """Part ``i``'s search as plain data (its model data, its share of the whole plan when
        there is a start, a run without callbacks), its duty windows with ``workers`` CP-SAT
        workers when given; and the index in the whole instance's data of each of its
        candidates."""
        began = time.perf_counter()
        sub_data, whole = part_data(self.data, self.parts[i], sub)
        self.cut_time += time.perf_counter() - began
        baseline = self.run.baseline
        sub_baseline = None
        if baseline is not None:
            units = {unit.id for unit in sub.units}
            own = tuple(a for a in baseline.plan.assignments if a.unit in units)
            sub_baseline = baseline.model_copy(update={"plan": Plan(assignments=own)})
        with self.combining:
            own_start = self.current[whole] if self.started else None
        windows = {} if workers is None else lane_parameters(self.run.parameters, workers)
        sub_run = replace(
            self.run,
            window_parameters=windows,
            deadline=deadline,
            progress=None,
            incumbent=None,
            stop=None if workers is not None else self.run.stop,
            start=began,
            hint=None,
            rosters=None,
            baseline=sub_baseline,
            forward=None,
            part=i,
            lp=None,
            beside=self.run.lp if workers is None else None,
            lane=workers is not None,
        )
        return PartJob(i, sub, sub_data, own_start, sub_run), whole

    def record(self, i: int, result: Result, first_weight: int, began: float) -> None:
        """Keep what part ``i``'s search, begun at ``began``, returned."""
        self.first_weights[i] = first_weight
        shift = began - self.run.start
        self.trace += [p.model_copy(update={"start": p.start + shift}) for p in result.phases]
        if result.status.has_plan:
            self.results[i] = result


def solve_parts(
    instance: Instance, parts: list[Part], run: Run, data: ModelData, built: float
) -> tuple[Result, int]:
    """Solve independent parts one by one and put their plans side by side (see the module).

    ``data`` is the whole instance's model data, built in ``built`` seconds. Also returns the
    weight of the first ranked term.
    """
    began = time.perf_counter()
    evaluator, full_weights = judge(data, run.baseline)
    keeper = Incumbent(data, evaluator, full_weights, run.start, run.progress, run.incumbent)
    keeper.attach(run.lp)
    build_time = built + time.perf_counter() - began
    state = _Parts(
        instance,
        parts,
        run,
        data,
        keeper,
        np.zeros(data.n_candidates, dtype=np.int64),
        [None] * len(parts),
        [1] * len(parts),
    )
    # The lanes' processes start while the start plan is built.
    pool = PartPool.open(lanes_for(run, len(parts), data.n_candidates))
    try:
        _start(state)
    except BaseException:
        if pool is not None:
            pool.close()
        raise
    part_of = {u: i for i, part in enumerate(parts) for u in part.units}
    part_of_group = np.array([part_of[g.members[0]] for g in data.groups], dtype=np.int64)
    sizes: list[int] = np.bincount(
        part_of_group[data.candidate_group], minlength=len(parts)
    ).tolist()
    weights: list[float] = [float(size) for size in sizes]
    if (
        state.started
        and run.baseline is None
        and instance.rules.priorities[0] is ObjectiveTerm.SHORTFALL
    ):
        weights = part_weights(data, parts, sizes, state.current)
    if pool is not None:
        try:
            _plan_at_once(state, weights, pool)
        finally:
            pool.close()
    else:
        for i, deadline in enumerate(part_budgets(weights, time.perf_counter(), run.deadline)):
            if run.stopped():
                break
            state.solve_part(i, part_instance(instance, parts[i]), deadline)
    done = all(r is not None for r in state.results) and not run.stopped()
    if ObjectiveTerm.BALANCE in instance.rules.priorities[:-1] and done:
        done = _second_pass(state, sizes)
    optimal = done and all(r is not None and r.status is SolveStatus.OPTIMAL for r in state.results)
    if not optimal and instance.rules.priorities[0] is not ObjectiveTerm.BALANCE:
        _bound_first_term(state)
    build_time += state.cut_time + sum(r.build_time for r in state.results if r is not None)
    keeper.hand_over()
    result = make_result(
        keeper,
        invalid=False,
        optimal=optimal,
        build_time=build_time,
        instance=instance,
        rosters=run.rosters,
        phases=state.trace,
    )
    return result, full_weights[0] if full_weights else 1


def _plan_at_once(state: _Parts, weights: list[float], pool: PartPool) -> None:
    """Plan the parts in ``pool``'s lanes at the same time (:mod:`solver.search.concurrent`):
    each lane's parts one after another, each given time in proportion to its weight, with
    the run's workers shared out between the lanes' duty windows and the lighter lanes niced
    in proportion to their weight; every improving plan of a part joins the whole instance's
    plan as it comes."""
    run = state.run
    members = assign_lanes(weights, pool.n_lanes)
    workers = max(1, run_workers(run) // len(members))
    now, end = time.perf_counter(), run.deadline - RETURN_MARGIN
    lanes: list[Lane] = []
    wholes: dict[int, Counts] = {}
    niceness = lane_niceness([sum(weights[i] for i in lane) for lane in members])
    for lane, nice in zip(members, niceness, strict=True):
        jobs = []
        deadlines = part_budgets([weights[i] for i in lane], now, end)
        for i, deadline in zip(lane, deadlines, strict=True):
            sub = part_instance(state.instance, state.parts[i])
            job, wholes[i] = state.part_job(i, sub, deadline, workers)
            jobs.append(job)
        lanes.append(Lane(jobs, nice))
    applied = [0] * len(state.parts)
    ordering = threading.Lock()

    def on_plan(i: int, sequence: int, x: Counts) -> None:
        # A part's plans are applied in the order it found them (the last also comes with
        # its outcome).
        with ordering:
            if sequence <= applied[i]:
                return
            applied[i] = sequence
            state.put(wholes[i], x)

    returned = set()
    for outcome in pool.plan(lanes, on_plan, run.stop, run.deadline):
        if outcome.best is not None:
            on_plan(outcome.index, outcome.sent, outcome.best)
        state.record(outcome.index, outcome.result, outcome.first_weight, outcome.began)
        returned.add(outcome.index)
    # Parts whose lane failed (a process that died, or could not start: a script that starts
    # a solve without ``if __name__ == "__main__"``) are planned here, one by one, in the
    # time left, from their best plans so far.
    failed = [i for i in range(len(state.parts)) if i not in returned and not run.stopped()]
    left = [weights[i] for i in failed]
    for i, deadline in zip(
        failed, part_budgets(left, time.perf_counter(), run.deadline), strict=True
    ):
        if run.stopped() or deadline <= time.perf_counter():
            break
        state.solve_part(i, part_instance(state.instance, state.parts[i]), deadline)


def _start(state: _Parts) -> None:
    """The start of the whole instance: in a re-plan the plan in force topped up, else the
    caller's hint (what of it keeps every rule), else the greedy plans of the whole instance
    (those of its parts side by side); recorded as one phase."""
    run, data, keeper = state.run, state.data, state.keeper
    began = time.perf_counter()
    start_x: Counts | None = None
    name = "start"
    if run.baseline is not None and run.hint is None:
        evaluator = keeper.evaluator
        assert isinstance(evaluator, BaselineEvaluator)
        name, start_x = "plan in force topped up", baseline_start(data, keeper, evaluator.index)
    hint = run.hint if run.hint is not None else run.rosters
    if start_x is None and hint is not None:
        name, start_x = "hint", plan_counts(data, hint)
        keeper.offer(start_x, 0)
    elif start_x is None and run.preset.warm_start:
        name, start_x = "greedy start", greedy_start(data, keeper)
        assert start_x is not None  # every greedy plan is accepted
    if start_x is not None:
        state.current[:] = start_x
        state.started = True
    state.trace.append(
        PhaseRun(
            name=name,
            start=began - run.start,
            seconds=time.perf_counter() - began,
            after=keeper.terms(),
            end=PhaseEnd.DONE if start_x is not None else PhaseEnd.SKIPPED,
        )
    )


def _second_pass(state: _Parts, sizes: list[int]) -> bool:
    """Solve again the parts whose busiest unit works fewer shifts than the overall busiest,
    with that many as their limit (balance left out); whether every part has its plan."""
    keeper, run = state.keeper, state.run
    if keeper.best_x is None:
        return True
    state.started = True  # every part holds its plan now
    peak = keeper.evaluator.terms(keeper.best_x)[ObjectiveTerm.BALANCE]
    slack = [
        i
        for i, r in enumerate(state.results)
        if r is not None and r.breakdown.get(ObjectiveTerm.BALANCE, 0) < peak
    ]
    deadlines = part_budgets([sizes[i] for i in slack], time.perf_counter(), run.deadline)
    done = True
    for i, deadline in zip(slack, deadlines, strict=True):
        if run.stopped():
            return False
        state.results[i] = None
        sub = part_instance(state.instance, state.parts[i], balance_cap=peak)
        state.solve_part(i, sub, deadline)
        done = done and state.results[i] is not None
    return done


def _bound_first_term(state: _Parts) -> None:
    """The whole instance's bound from each part's bound on its first term: in its own
    weights, ``floor(bound / w0)``."""
    instance, data = state.instance, state.data
    pairs = zip(state.results, state.first_weights, strict=True)
    first_term = sum((r.best_bound or 0) // w for r, w in pairs if r)
    if instance.rules.priorities[0] is ObjectiveTerm.SHORTFALL:
        # Venues no unit can reach are in no part: all they require is missing.
        reached = {v for part in state.parts for v in part.venues}
        first_term += sum(
            slot.weight * slot.required for slot in data.slots if slot.venue not in reached
        )
    state.keeper.bound = state.keeper.full_weights[0] * first_term
