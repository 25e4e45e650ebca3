"""Lower bounds of the objective's terms beside the search (see :mod:`solver.bound.lp`)."""

from solver.bound.background import ShortfallBound
from solver.bound.lp import ShortfallLP, dual_bound, relaxed_data, shortfall_lp

__all__ = ["ShortfallBound", "ShortfallLP", "dual_bound", "relaxed_data", "shortfall_lp"]
