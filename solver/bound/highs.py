"""The shortfall relaxation solved by HiGHS, interruptible, as a valid bound.

HiGHS's interior point method without crossover solves the suite's loose province
(146,000 columns, 890,000 entries) in about 23 s of one thread, where its dual simplex needs
several times that. Its duals are turned into a bound by :func:`~solver.bound.lp.dual_bound`,
which holds for any multipliers: the bound never depends on the solver's tolerances. The
solver runs outside Python's lock, so it can work beside CP-SAT in a thread of the same
process, and its interrupt callback lets a stop or the deadline end it within an iteration.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from solver.bound.lp import ShortfallLP, dual_bound

TOLERANCE = 1e-6
"""Relative slack taken off the Lagrangian bound before it is rounded up (every plan's
weighted shortfall is a whole number), for the floating-point sums behind it."""


def whole_bound(value: float) -> int:
    """The least whole number a plan's weighted shortfall can take above ``value``, a bound
    computed in floating point."""
    return max(0, math.ceil(value - TOLERANCE * max(1.0, abs(value))))


def solve_relaxation(
    lp: ShortfallLP, *, deadline: float, stop: Callable[[], bool] = lambda: False
) -> int | None:
    """Solve ``lp`` on one thread until ``deadline`` (``time.perf_counter()`` seconds) or
    until ``stop()`` is true; return its bound as a whole number, or ``None`` when it was not
    solved by then."""
    if lp.n_columns == 0 or not lp.cost.any():
        return 0
    limit = deadline - time.perf_counter()
    if limit <= 0 or stop():
        return None
    # Imported here: only large models run the relaxation, and every command and solver
    # process imports this module.
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("solver", "ipm")
    h.setOptionValue("run_crossover", "off")
    h.setOptionValue("time_limit", limit)
    h.addVars(lp.n_columns, lp.lower, lp.upper)
    h.changeColsCost(lp.n_columns, np.arange(lp.n_columns, dtype=np.int32), lp.cost)
    if lp.n_rows:
        h.addRows(
            lp.n_rows,
            lp.row_lower,
            lp.row_upper,
            len(lp.indices),
            lp.starts[:-1].astype(np.int32),
            lp.indices.astype(np.int32),
            lp.values,
        )

    def interrupt(
        _kind: object, _message: object, _out: object, data_in: object, _user: object
    ) -> None:
        if stop() or time.perf_counter() > deadline:
            data_in.user_interrupt = True  # type: ignore[attr-defined]

    h.setCallback(interrupt, None)
    h.startCallback(highspy.cb.HighsCallbackType.kCallbackIpmInterrupt)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    solution = h.getSolution()
    if not solution.dual_valid:
        return None
    duals = np.array(solution.row_dual, dtype=np.float64)
    return whole_bound(dual_bound(lp, duals))
