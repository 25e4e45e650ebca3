"""Rows written straight into a CP-SAT model proto by variable index.

A province-scale model has some 10,000 rows over 300,000 variable occurrences; building each as
a Python expression first took most of its build time. The constraint families
(:mod:`solver.model.constraints`), the balance term and the rows that keep what a stage
reached (:mod:`solver.model.objective`) all write their rows through :class:`Rows`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ortools.sat.python import cp_model

INT_MIN, INT_MAX = -(2**63), 2**63 - 1


class Rows:
    """Writes rows over variable indices into a model proto."""

    def __init__(self, model: cp_model.CpModel) -> None:
        self._constraints = model.proto.constraints

    def linear(
        self, variables: Sequence[int], coefficients: Sequence[int], lower: int, upper: int
    ) -> None:
        """``lower <= sum(coefficients[i] * x[variables[i]]) <= upper``."""
        row = self._constraints.add().linear
        row.vars.extend(variables)
        row.coeffs.extend(coefficients)
        row.domain.extend((lower, upper))

    def at_most(self, variables: Sequence[int], most: int) -> None:
        """``sum(x[variables]) <= most``."""
        self.linear(variables, [1] * len(variables), INT_MIN, most)

    def at_most_one(self, literals: Sequence[int]) -> None:
        """At most one of the boolean variables ``literals`` is true."""
        self._constraints.add().at_most_one.literals.extend(literals)
