"""The linear relaxation of the shortfall stage: a lower bound of the weighted shortfall.

The rows are those of the CP-SAT model (:mod:`solver.model.constraints`) on the same model
data, read as linear rows over real-valued columns:

- ``x[c]`` in ``[0, most]`` per candidate (a group's count, at most its size and what the
  ring holds), ``short[s]`` in ``[0, required]`` per slot with a requirement, ``day_on[g, d]``
  in ``[0, 1]`` per group of one unit for which the consecutive-days rule can bind;
- per group and rest clique ``sum x <= size``; per slot ``sum headcount * x <= capacity``
  (where the units that may stand there could exceed it) and
  ``sum min(headcount, required) * x + short >= required``; per group most shifts and most
  shift starts in 24 hours (times its size); per group of one, day and part of a rest clique
  within the day ``sum x(part) <= day_on``, and at most ``max`` duty days in any ``max + 1``.

The objective is ``sum(weight[s] * short[s])``. Every plan is a point of this polytope with
the plan's weighted shortfall as its value, so the relaxation's optimum is a lower bound of
the first term (when shortfall is ranked first, of the whole stage). Grouped and per-unit
model data give the same optimum: the grouped rows are the per-unit rows summed over each
group's units, and splitting a grouped point evenly over its units gives a per-unit one.
No row reads a distance, so the pooling that ignores distances (:func:`relaxed_data`) gives a
bound as well: every plan, each unit counted in its pool, is a point of its polytope with the
same value. It is solved instead where it is smaller: on the suite's capital it has 31,000
candidates instead of 355,000, and HiGHS solves it in 1.3 s instead of 92 s, to the same
21,114. It can be a little higher (a pool's count in a ring is capped by the whole units
the ring holds): 1,735 against 1,729 on two regencies of the capital.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from solver.model.constraints import day_cliques, rest_cliques
from solver.model.data import ModelData, build_data

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ShortfallLP:
    """Columns with bounds and costs, rows in CSR form.

    Columns ``0 .. n_assign - 1`` are the candidates of the model data it was built from,
    then one shortfall column per slot in :attr:`short_slot`, then the duty-day flags.
    """

    lower: FloatArray
    upper: FloatArray
    cost: FloatArray
    row_lower: FloatArray
    row_upper: FloatArray
    starts: IntArray
    """Row ``r`` holds entries ``starts[r] .. starts[r + 1] - 1``."""
    indices: IntArray
    values: FloatArray
    n_assign: int
    short_slot: IntArray
    """The slot of each shortfall column."""

    @property
    def n_columns(self) -> int:
        """How many columns there are."""
        return len(self.lower)

    @property
    def n_rows(self) -> int:
        """How many rows there are."""
        return len(self.row_lower)


class _Rows:
    """Rows gathered as lists, turned into arrays once."""

    def __init__(self) -> None:
        self.starts: list[int] = [0]
        self.indices: list[int] = []
        self.values: list[float] = []
        self.lower: list[float] = []
        self.upper: list[float] = []

    def add(self, columns: list[int], values: list[float], lower: float, upper: float) -> None:
        self.indices.extend(columns)
        self.values.extend(values)
        self.starts.append(len(self.indices))
        self.lower.append(lower)
        self.upper.append(upper)

    def at_most(self, columns: list[int], upper: float) -> None:
        self.add(columns, [1.0] * len(columns), -np.inf, upper)


class _Columns:
    """Columns gathered as lists (bounds and cost), turned into arrays once."""

    def __init__(self, upper: list[float]) -> None:
        self.lower: list[float] = [0.0] * len(upper)
        self.upper: list[float] = upper
        self.cost: list[float] = [0.0] * len(upper)

    def add(self, upper: float, cost: float) -> int:
        """A new column in ``[0, upper]`` with ``cost``; its index."""
        self.lower.append(0.0)
        self.upper.append(upper)
        self.cost.append(cost)
        return len(self.lower) - 1


GroupShifts = dict[int, dict[int, list[int]]]
"""Per group, per shift, the group's candidate columns."""


def relaxed_data(data: ModelData) -> ModelData:
    """The model data the relaxation of ``data`` is solved on: its units pooled regardless of
    their distances (units alike in all else share a group), when that has fewer candidates;
    else ``data`` itself. Both give a bound (see the module's docstring)."""
    pooled = build_data(data.instance, ignore_km=True, like=data)
    return pooled if pooled.n_candidates < data.n_candidates else data


def shortfall_lp(data: ModelData) -> ShortfallLP:
    """The relaxation of the shortfall stage of ``data`` (see the module's docstring)."""
    n = data.n_candidates
    sizes = np.array([g.size for g in data.groups], dtype=np.int64)
    headcount = data.candidate_headcount()
    capacity = np.array([s.capacity for s in data.slots], dtype=np.int64)
    count = sizes[data.candidate_group] if n else np.zeros(0, dtype=np.int64)
    most = np.minimum(count, capacity[data.candidate_slot] // np.maximum(headcount, 1))
    columns = _Columns(most.astype(np.float64).tolist())
    rows = _Rows()
    by_group: GroupShifts = {}
    for (g, s), cands in data.by_group_shift.items():
        by_group.setdefault(g, {})[s] = cands
    cliques = rest_cliques(data)
    _rest_rows(data, by_group, cliques, columns, rows)
    short_slot = _slot_rows(data, headcount.tolist(), columns, rows)
    _duty_rows(data, by_group, rows)
    _consecutive_days_rows(data, by_group, cliques, columns, rows)
    return ShortfallLP(
        lower=np.array(columns.lower, dtype=np.float64),
        upper=np.array(columns.upper, dtype=np.float64),
        cost=np.array(columns.cost, dtype=np.float64),
        row_lower=np.array(rows.lower, dtype=np.float64),
        row_upper=np.array(rows.upper, dtype=np.float64),
        starts=np.array(rows.starts, dtype=np.int64),
        indices=np.array(rows.indices, dtype=np.int64),
        values=np.array(rows.values, dtype=np.float64),
        n_assign=n,
        short_slot=np.array(short_slot, dtype=np.int64),
    )


def _rest_rows(
    data: ModelData,
    by_group: GroupShifts,
    cliques: list[list[int]],
    columns: _Columns,
    rows: _Rows,
) -> None:
    """Per group and rest clique: ``sum x <= size`` (where it can bind)."""
    for g, shifts in by_group.items():
        size = float(data.groups[g].size)
        for clique in cliques:
            cols = [c for s in clique for c in shifts.get(s, ())]
            if len(cols) > 1 or (cols and columns.upper[cols[0]] > size):
                rows.at_most(cols, size)


def _slot_rows(data: ModelData, heads: list[int], columns: _Columns, rows: _Rows) -> list[int]:
    """Per slot: ``sum headcount * x <= capacity`` where the units in reach could exceed it,
    and ``sum min(headcount, required) * x + short >= required`` with a shortfall column of
    the slot's weight; the slots of those columns, in order."""
    reach = data.slot_reach()
    short_slot: list[int] = []
    for index, slot in enumerate(data.slots):
        cols = data.by_slot[index]
        if cols and reach[index] > slot.capacity:
            rows.add(cols, [float(heads[c]) for c in cols], -np.inf, float(slot.capacity))
        if slot.required > 0:
            column = columns.add(float(slot.required), float(slot.weight))
            short_slot.append(index)
            values = [float(min(heads[c], slot.required)) for c in cols]
            rows.add([*cols, column], [*values, 1.0], float(slot.required), np.inf)
    return short_slot


def _duty_rows(data: ModelData, by_group: GroupShifts, rows: _Rows) -> None:
    """Per group: most shifts, and most shift starts in any 24 hours (times its size)."""
    rules = data.instance.rules
    for g, shifts in by_group.items():
        size = data.groups[g].size
        if rules.max_shifts is not None and len(shifts) > rules.max_shifts:
            rows.at_most([c for cs in shifts.values() for c in cs], rules.max_shifts * size)
        if rules.max_shifts_per_24h is not None:
            for window in data.windows_24h:
                present = [s for s in window if s in shifts]
                if len(present) > rules.max_shifts_per_24h:
                    cols = [c for s in present for c in shifts[s]]
                    rows.at_most(cols, rules.max_shifts_per_24h * size)


def _consecutive_days_rows(
    data: ModelData,
    by_group: GroupShifts,
    cliques: list[list[int]],
    columns: _Columns,
    rows: _Rows,
) -> None:
    """Per group of one unit: a duty-day flag per day forced by every part of a rest clique
    within the day (``sum x(part) <= day_on``), and at most ``max`` duty days in any
    ``max + 1``."""
    limit = data.instance.rules.max_consecutive_days
    if limit is None or len(data.days) <= limit:
        return
    parts = day_cliques(data, cliques)
    for g, shifts in by_group.items():
        days = sorted({data.shift_day[s] for s in shifts})
        if len(days) <= limit or data.groups[g].size != 1:
            continue
        flags: dict[int, int] = {}
        for day in days:
            flags[day] = columns.add(1.0, 0.0)
            for part in parts[day]:
                cols = [c for s in part for c in shifts.get(s, ())]
                if cols:
                    rows.add([*cols, flags[day]], [1.0] * len(cols) + [-1.0], -np.inf, 0.0)
        for first in range(len(data.days) - limit):
            run = [flags[d] for d in range(first, first + limit + 1) if d in flags]
            if len(run) > limit:
                rows.at_most(run, float(limit))


def dual_bound(lp: ShortfallLP, row_dual: FloatArray) -> float:
    """The Lagrangian bound of any row multipliers: a lower bound of the relaxation's optimum
    (so of every plan's weighted shortfall), however far ``row_dual`` is from optimal.

    Rows are priced out with multipliers of the valid sign (positive where a row has a finite
    lower side, negative where it has a finite upper side; the rest is taken as 0), and each
    column, bounded on both sides, then takes the side its reduced cost prefers:
    ``sum_r y_r * side_r + sum_j min(d_j * lower_j, d_j * upper_j)`` with ``d = cost - A' y``.
    An interior point or first-order solver stopped early still gives a valid bound this way.
    """
    y = np.asarray(row_dual, dtype=np.float64)
    has_lower, has_upper = np.isfinite(lp.row_lower), np.isfinite(lp.row_upper)
    y = np.where(((y > 0) & has_lower) | ((y < 0) & has_upper), y, 0.0)
    side = np.where(
        y > 0, np.where(has_lower, lp.row_lower, 0.0), np.where(has_upper, lp.row_upper, 0.0)
    )
    rows = np.repeat(np.arange(lp.n_rows), np.diff(lp.starts))
    reduced = lp.cost - np.bincount(lp.indices, weights=lp.values * y[rows], minlength=lp.n_columns)
    columns = np.minimum(reduced * lp.lower, reduced * lp.upper)
    return float(y @ side + columns.sum())
