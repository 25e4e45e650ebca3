"""The first plan of the whole instance, made in the calling process while the cluster starts.

:func:`solver.heuristics.waves.wave_plan` plans the whole instance from the domain in a few
seconds (the tight nation: about 5 s on an idle core), on the reach the split computed. It runs
in a thread of the calling process, beside the cluster's start; its plan is the first whole plan
(reported at once), and each part's slice of it is the start of that part's quick plan
(:func:`solver.parts.task.quick_plan`), which tops it up and repairs it.
"""

from __future__ import annotations

import logging
import threading
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
    """The wave plan of ``instance``, made in a thread (see the module)."""

    def __init__(
        self,
        instance: Instance,
        parts: Sequence[DomainPart],
        reached: Sequence[npt.NDArray[np.int64]],
        deadline: float,
        began: float,
        on_plan: OnFirstPlan | None = None,
    ) -> None:
        self.plan: WavePlan | None = None
        self.elapsed: float | None = None
        """Seconds from ``began`` (``time.perf_counter()``) to the plan."""
        self._instance, self._parts, self._reached = instance, parts, reached
        self._deadline, self._began, self._on_plan = deadline, began, on_plan
        self._thread = threading.Thread(target=self._run, name="first-plan", daemon=True)
        if parts and fits(instance):
            self._thread.start()

    def _run(self) -> None:
        try:
            plan = wave_plan(self._instance, self._reached, deadline=self._deadline)
        except MemoryError:
            logger.warning("the first whole plan ran out of memory; parts plan alone")
            return
        self.elapsed = time.perf_counter() - self._began
        self.plan = plan
        logger.info(
            "first whole plan in %.1f s: weighted shortfall %d",
            self.elapsed,
            plan.weighted_shortfall,
        )
        if self._on_plan is not None:
            self._on_plan(plan, self.elapsed)

    def hints(self) -> dict[int, tuple[PlainAssignment, ...]]:
        """Each part's slice of the plan (waits for it; empty when there is none)."""
        if self._thread.is_alive() or self._thread.ident is not None:
            self._thread.join()
        if self.plan is None:
            return {}
        units = self._instance.units
        part_of = {units[u].id: i for i, part in enumerate(self._parts) for u in part.units}
        rows: dict[int, list[PlainAssignment]] = {}
        for row in self.plan.assignments:
            i = part_of.get(row[0])
            if i is not None:
                rows.setdefault(i, []).append(row)
        return {i: tuple(found) for i, found in rows.items()}
