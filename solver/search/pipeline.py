"""The order of the search as data: :func:`phases_for` lists the phases, :func:`run_phases`
walks them and records each run.

A cold solve and a re-plan are two lists. To add a phase: write a class with a ``name``, an
``applies(ctx)`` and a ``run(ctx)`` (:class:`~solver.search.phase.Phase`), and put it in the
lists below where it belongs; the loop, the trace and the result need no change.
"""

from __future__ import annotations

import time
from enum import StrEnum

from solver.presets import Preset
from solver.result import PhaseEnd, PhaseRun
from solver.search.context import SearchContext
from solver.search.duty import DutyWindows, TravelMovesAfterWindows
from solver.search.improve import ShiftWindows, TravelMoves
from solver.search.phase import Phase
from solver.search.stages import BuildModels, CpSatStages, EmptyPlan, FineModel, ReplanFineModel
from solver.search.start import BaselineTopUp, GivenStart, GreedyStart, HintStart
from solver.search.wide import ShortfallSearch, WideDutyWindows


class Mode(StrEnum):
    """What a solve starts from."""

    COLD = "cold"
    """A new plan."""
    REPLAN = "replan"
    """A re-plan against a plan in force (:class:`~solver.model.disruption.Baseline`)."""


def phases_for(preset: Preset, mode: Mode) -> list[Phase]:
    """The phases of one model's solve, in order."""
    if mode is Mode.REPLAN:
        return [
            GivenStart(),
            BaselineTopUp(),
            HintStart(),
            # No greedy start of its own: the plan in force, topped up, is the start.
            BuildModels(),
            CpSatStages("search", restore=True),
            # No travel moves and no shift windows: disruption is ranked above travel, and
            # those moves do not weigh it.
            ReplanFineModel(),
            CpSatStages("search", restore=True),
            EmptyPlan(),
        ]
    phases: list[Phase] = [GivenStart()]
    if preset.warm_start:
        phases.append(GreedyStart())
    phases += [HintStart(), BuildModels()]
    if preset.duty_windows:
        phases += [DutyWindows(), TravelMovesAfterWindows(), ShortfallSearch(), WideDutyWindows()]
    phases += [
        CpSatStages("search above travel", before_travel=True),
        TravelMoves(),
    ]
    if preset.shift_windows:  # off where plans must repeat exactly (``reproducible``)
        phases.append(ShiftWindows())
    phases += [FineModel(), CpSatStages("search"), EmptyPlan()]
    return phases


def run_phases(ctx: SearchContext, phases: list[Phase]) -> None:
    """Run each phase that applies, in order, until the search ends; record every phase in
    ``ctx.trace`` (those that do not apply, or come after the end, as skipped)."""
    for phase in phases:
        began = time.perf_counter()
        at = began - ctx.run.start
        if ctx.ended or not phase.applies(ctx):
            skipped = PhaseRun(
                name=phase.name, start=at, seconds=0.0, end=PhaseEnd.SKIPPED, part=ctx.run.part
            )
            ctx.trace.append(skipped)
            continue
        before = ctx.keeper.terms()
        ctx.phase_end = PhaseEnd.DONE
        phase.run(ctx)
        ctx.trace.append(
            PhaseRun(
                name=phase.name,
                start=at,
                seconds=time.perf_counter() - began,
                before=before,
                after=ctx.keeper.terms(),
                end=ctx.phase_end,
                part=ctx.run.part,
            )
        )
