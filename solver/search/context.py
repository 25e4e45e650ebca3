"""The state one solve's phases share: the request, the model data, the incumbent keeper, the
CP-SAT models and their stages, and the clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from solver.bound import ShortfallBound
from solver.domain import Instance, ObjectiveTerm, Plan
from solver.model.data import ModelData
from solver.model.disruption import Baseline
from solver.model.objective import Stage
from solver.presets import Preset
from solver.result import PhaseEnd, PhaseRun
from solver.search.counts import Counts
from solver.search.cpsat import StageModel
from solver.search.incumbent import Incumbent, IncumbentCallback, ProgressCallback


@dataclass(frozen=True)
class Run:
    """What one call of :func:`solver.solve` asked for."""

    preset: Preset
    parameters: dict[str, object]
    start: float
    deadline: float
    hint: Plan | None
    """The caller's warm start."""
    progress: ProgressCallback | None
    stop: threading.Event | None
    incumbent: IncumbentCallback | None = None
    baseline: Baseline | None = None
    overrides: Mapping[str, object] = field(default_factory=dict)
    """The caller's CP-SAT parameters (workers, seed, ...), over any preset's."""
    forward: Callable[[Counts], None] | None = None
    """Called with the counts of every improving plan (of the model data the solve is
    given): how a part's plans reach the whole instance's search."""
    deterministic: bool = False
    """CP-SAT's deterministic time limits the searches, no clock (see :func:`solver.solve`)."""
    rosters: Plan | None = None
    """The plan whose assignments the result's rosters follow (the hint, or the plan in force
    of a re-plan)."""
    part: int | None = None
    """Index of the independent part this run solves, if it is one."""
    lp: ShortfallBound | None = None
    """The weighted shortfall's linear bound of the whole instance, raised beside the search
    (the search of the whole instance reports it; a part's does not)."""
    window_parameters: Mapping[str, object] = field(default_factory=dict)
    """CP-SAT parameters over the search's for each duty window (a part planned beside
    others: one worker each, see :func:`solver.search.duty.lane_parameters`)."""
    beside: ShortfallBound | None = None
    """The whole instance's bound (:attr:`lp`) in a part's run planned in the same process:
    while its relaxation is being solved, the part's duty windows leave it a core (see
    :func:`solver.search.duty.window_threads`)."""
    lane: bool = False
    """Whether this run is a part planned beside others, in a lane of its own process
    (:mod:`solver.search.concurrent`): its duty windows end by their own stall, not a share."""

    def stopped(self) -> bool:
        """Whether a stop was requested."""
        return self.stop is not None and self.stop.is_set()


@dataclass
class SearchContext:
    """Everything the phases of one model's solve read and change."""

    instance: Instance
    run: Run
    preset: Preset
    """The preset in force (a large model's may differ from the one asked for)."""
    parameters: dict[str, object]
    """CP-SAT's parameters: the preset's with the caller's over them."""
    data: ModelData
    """The fine model data; plans are counts of it."""
    keeper: Incumbent
    """The one incumbent keeper: every phase offers its plans here."""
    pooled: int
    """How many top-ranked terms the coarse model solves."""
    coarse_data: ModelData | None = None
    """The pooling that ignores distances, when it pays."""
    given: Counts | None = None
    """A start handed in (a part's share of the whole instance's start)."""
    x0: Counts | None = None
    """A start as counts of the first CP-SAT model's own data (coarse or fine)."""
    topped: Counts | None = None
    """A re-plan's start: the plan in force topped up (counts of the fine data)."""
    hint_plan: Plan | None = None
    """A plan to hint the first CP-SAT model with (the caller's hint, or the plan in force)."""
    coarse: StageModel | None = None
    fine: StageModel | None = None
    schedule: list[tuple[StageModel, Stage]] = field(default_factory=list)
    """The CP-SAT stages, in order; the fine model's join once it is built."""
    order: list[ObjectiveTerm] = field(default_factory=list)
    """Terms in the order of :attr:`keeper`'s weights, for each stage's multiplier."""
    index: int = 0
    """Stages done."""
    reached: list[tuple[Stage, int]] = field(default_factory=list)
    """Each stage done and the value later stages must keep."""
    bound: int = 0
    """The bound of the stages proven so far, in the ranking's weights."""
    all_optimal: bool = True
    invalid: bool = False
    ended: bool = False
    """Whether the search has ended (time, stop, an invalid model): later phases are skipped."""
    travel_stage: Stage | None = None
    """The first stage with travel, once the travel moves have run before it."""
    rehint: bool = False
    """Hint the fine model with the best plan before its next stage."""
    build_time: float = 0.0
    """Seconds spent building model data and CP-SAT models."""
    trace: list[PhaseRun] = field(default_factory=list)
    phase_end: PhaseEnd = PhaseEnd.DONE

    @property
    def replan(self) -> bool:
        """Whether this is a re-plan against a plan in force."""
        return self.run.baseline is not None

    def left(self) -> float:
        """Seconds left before the deadline."""
        return self.run.deadline - time.perf_counter()

    def end_phase(self, why: PhaseEnd) -> None:
        """Say why the running phase ended."""
        self.phase_end = why

    def out_of_time(self) -> bool:
        """End the search, unproven, when the deadline has passed or a stop was requested."""
        if self.left() > 0 and not self.run.stopped():
            return False
        self.all_optimal = False
        self.ended = True
        self.end_phase(PhaseEnd.STOPPED if self.run.stopped() else PhaseEnd.BUDGET)
        return True
