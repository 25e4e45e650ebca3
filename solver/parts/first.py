"""The first plan of the whole instance, made in the calling process before the parts run.

:func:`solver.heuristics.waves.wave_plan` plans the whole instance from the domain in a few
seconds (the tight nation: about 3 s on a loaded core), on the reach the split computed. It is
made right after the reach, before the parts are cut and the cluster starts (on two cores,
starting the cluster beside it slowed it down); its plan is the first whole plan (reported at
once), and each part's slice of it is the start of that part's quick plan
(:func:`solver.parts.task.quick_plan`), which tops it up and repairs it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from solver.domain import Instance
from solver.heuristics.waves import PlainAssignment, WavePlan, fits, wave_plan
from solver.parts.split import DomainPart

logger = logging.getLogger(__name__)

OnFirstPlan = Callable[[WavePlan, float], None]
"""Called with the first whole plan and the seconds since the solve began."""


class FirstPlan:
    """The wave plan of ``instance`` (see the module), made when built; ``on_plan`` is called
    with it. None when the instance does not :func:`~solver.heuristics.waves.fits`, has no
    unit, or memory ran out."""

    def __init__(
        self,
        instance: Instance,
        reached: Sequence[npt.NDArray[np.int64]],
        deadline: float,
        began: float,
        on_plan: OnFirstPlan | None = None,
    ) -> None:
        self.plan: WavePlan | None = None
        self.elapsed: float | None = None
        """Seconds from ``began`` (``time.perf_counter()``) to the plan."""
        self._instance = instance
        if not instance.units or not fits(instance):
            return
        try:
            self.plan = wave_plan(instance, reached, deadline=deadline)
        except MemoryError:
            logger.warning("the first whole plan ran out of memory; parts plan alone")
            return
        self.elapsed = time.perf_counter() - began
        logger.info(
            "first whole plan in %.1f s: weighted shortfall %d",
            self.elapsed,
            self.plan.weighted_shortfall,
        )
        if on_plan is not None:
            on_plan(self.plan, self.elapsed)

    def hints(self, parts: Sequence[DomainPart]) -> dict[int, tuple[PlainAssignment, ...]]:
        """Each part's slice of the plan (empty when there is none)."""
        if self.plan is None:
            return {}
        units = self._instance.units
        part_of = {units[u].id: i for i, part in enumerate(parts) for u in part.units}
        rows: dict[int, list[PlainAssignment]] = {}
        for row in self.plan.assignments:
            i = part_of.get(row[0])
            if i is not None:
                rows.setdefault(i, []).append(row)
        return {i: tuple(found) for i, found in rows.items()}
