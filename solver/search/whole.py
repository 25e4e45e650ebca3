"""One model's solve: the context built from the instance, its phases walked, its result."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from solver.domain import Instance
from solver.model.data import ModelData, build_data
from solver.model.disruption import baseline_history
from solver.presets import preset as named_preset
from solver.result import Result
from solver.search.construct import COARSE_SHARE, coarse_size, judge, pooled_terms
from solver.search.context import Run, SearchContext
from solver.search.counts import Counts
from solver.search.incumbent import Incumbent
from solver.search.outcome import make_result
from solver.search.pipeline import Mode, phases_for, run_phases

logger = logging.getLogger(__name__)


def solve_whole(
    instance: Instance,
    run: Run,
    data: ModelData | None = None,
    given: Counts | None = None,
    built: float = 0.0,
) -> tuple[Result, int]:
    """Solve ``instance`` as one model; also return the weight of its first ranked term.

    ``data``, the instance's model data (grouped with the baseline's history in a re-plan), is
    built here unless given (:func:`solver.search.parts.solve_parts` cuts each part's from the
    whole instance's); ``given``, counts of it that keep every rule, is then the warm start
    instead of the greedy plans (in a re-plan: instead of the plan in force topped up).
    ``built``: seconds already spent building ``data``, counted in the result's build time.
    """
    ctx = search_context(instance, run, data, given)
    ctx.build_time += built
    mode = Mode.COLD if run.baseline is None else Mode.REPLAN
    run_phases(ctx, phases_for(ctx.preset, mode))
    ctx.keeper.hand_over()
    result = make_result(
        ctx.keeper,
        invalid=ctx.invalid,
        optimal=ctx.all_optimal,
        build_time=ctx.build_time,
        instance=instance,
        rosters=run.rosters,
        phases=ctx.trace,
    )
    weights = ctx.keeper.full_weights
    return result, weights[0] if weights else 1


def search_context(
    instance: Instance, run: Run, data: ModelData | None, given: Counts | None
) -> SearchContext:
    """The context of one model's solve: its model data (fine, and coarse where that pays),
    the preset in force for its size, how plans are judged, and the incumbent keeper."""
    began = time.perf_counter()
    chosen, parameters = run.preset, run.parameters
    grouped = chosen.model == "grouped"
    if data is None:
        history = None if run.baseline is None else baseline_history(instance, run.baseline)
        data = build_data(instance, grouped=grouped, history=history)
    if chosen.switch is not None and data.n_candidates > chosen.switch[0]:
        # A large model: solve it with the preset for large ones, on the same model.
        name = chosen.switch[1]
        chosen = replace(
            named_preset(name),
            model=chosen.model,
            decompose=chosen.decompose,
            warm_start=chosen.warm_start,
        )
        parameters = {**chosen.parameters, **run.overrides}
        logger.info("%d candidates: solved as '%s'", data.n_candidates, name)
    evaluator, full_weights = judge(data, run.baseline)
    pooled = pooled_terms(instance.rules.priorities, evaluator)
    coarse_data: ModelData | None = None
    if grouped and pooled > 0 and coarse_size(data) <= COARSE_SHARE * data.n_candidates:
        coarse_data = build_data(instance, ignore_km=True, like=data)
    keeper = Incumbent(
        data, evaluator, full_weights, run.start, run.progress, run.incumbent, forward=run.forward
    )
    keeper.attach(run.lp)
    ctx = SearchContext(
        instance=instance,
        run=run,
        preset=chosen,
        parameters=parameters,
        data=data,
        keeper=keeper,
        pooled=pooled,
        coarse_data=coarse_data,
        given=given,
    )
    ctx.build_time = time.perf_counter() - began
    return ctx
