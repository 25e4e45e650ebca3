"""The search as a list of phases: the lists, the loop and the trace in the result."""

from __future__ import annotations

import time

from server.convert import result_from_proto, result_to_proto
from solver import Instance, Result, check_plan, load_instance, solve
from solver.model.data import build_data
from solver.presets import preset
from solver.result import PhaseEnd
from solver.search.context import Run, SearchContext
from solver.search.pipeline import Mode, phases_for, run_phases
from solver.search.start import GreedyStart
from solver.search.whole import search_context
from solver.whatif import Baseline, UnitUnavailable, apply_changes

DISTRICT = "ringplan/examples/district.json"


def _solve(instance: Instance, baseline: Baseline | None = None) -> Result:
    result = solve(
        instance, workers=1, seed=0, deterministic_time=0.2, time_limit=120, baseline=baseline
    )
    assert check_plan(instance, result.plan).ok
    return result


def test_cold_solve_records_every_phase_of_its_list_in_order() -> None:
    result = _solve(load_instance(DISTRICT))
    listed = [phase.name for phase in phases_for(preset("default"), Mode.COLD)]
    assert [run.name for run in result.phases] == listed
    greedy = next(run for run in result.phases if run.name == "greedy start")
    assert greedy.end is PhaseEnd.DONE and greedy.before == {} and greedy.after
    ran = [run for run in result.phases if run.end is not PhaseEnd.SKIPPED]
    assert ran[-1].after == result.breakdown  # the last phase that ran ends on the plan returned
    starts = [run.start for run in result.phases]
    assert starts == sorted(starts) and all(run.seconds >= 0 for run in result.phases)


def test_replan_list_leaves_out_the_greedy_start_travel_moves_and_shift_windows() -> None:
    instance = load_instance(DISTRICT)
    before = _solve(instance)
    changed = apply_changes(
        instance, [UnitUnavailable(unit=instance.units[0].id, from_shift=instance.shifts[1].id)]
    )
    result = _solve(changed, Baseline(plan=before.plan))
    names = [run.name for run in result.phases]
    assert names == [phase.name for phase in phases_for(preset("default"), Mode.REPLAN)]
    assert not {"greedy start", "travel moves", "shift windows"} & set(names)
    topped = next(run for run in result.phases if run.name == "plan in force topped up")
    assert topped.end is PhaseEnd.DONE and topped.after


def test_phase_trace_survives_json_and_the_wire() -> None:
    result = _solve(load_instance(DISTRICT))
    assert Result.model_validate_json(result.model_dump_json()).phases == result.phases
    assert result_from_proto(result_to_proto(result)).phases == result.phases


class _CountPlans:
    """A phase of a test's own: it says how many assignments the best plan has, and moves
    nothing."""

    name = "count plans"

    def __init__(self) -> None:
        self.seen: list[int] = []

    def applies(self, ctx: SearchContext) -> bool:
        return ctx.keeper.best_x is not None

    def run(self, ctx: SearchContext) -> None:
        assert ctx.keeper.best_x is not None
        self.seen.append(int(ctx.keeper.best_x.sum()))
        ctx.end_phase(PhaseEnd.NO_MOVE)


def test_a_phase_added_to_a_list_runs_in_its_place_and_is_recorded() -> None:
    instance = load_instance(DISTRICT)
    chosen = preset("default")
    start = time.perf_counter()
    run = Run(chosen, dict(chosen.parameters), start, start + 60, None, None, None)
    ctx = search_context(instance, run, build_data(instance), None)
    counter = _CountPlans()
    run_phases(ctx, [counter, GreedyStart(), counter])
    assert [r.name for r in ctx.trace] == ["count plans", "greedy start", "count plans"]
    assert [r.end for r in ctx.trace] == [PhaseEnd.SKIPPED, PhaseEnd.DONE, PhaseEnd.NO_MOVE]
    assert len(counter.seen) == 1 and counter.seen[0] > 0
    assert ctx.trace[2].before == ctx.trace[2].after == ctx.trace[1].after
