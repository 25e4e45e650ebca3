"""Strict priorities: weights that dominate, and stages where the weights would overflow."""

from __future__ import annotations

from ortools.sat.python import cp_model

from solver.domain import ObjectiveTerm
from solver.model.data import build_data
from solver.model.disruption import baseline_stages
from solver.model.objective import Term, make_stages, objective_terms, strict_weights, term_uppers
from solver.model.variables import make_variables
from tests.test_groups import CASES


def test_each_weight_exceeds_everything_below_it() -> None:
    uppers = [7, 5, 2]
    weights = strict_weights(uppers)
    assert weights == [18, 3, 1]
    for k in range(len(uppers)):
        below = sum(w * u for w, u in zip(weights[k + 1 :], uppers[k + 1 :], strict=True))
        assert weights[k] > below


def _term(name: ObjectiveTerm, upper: int) -> Term:
    return Term(name, [], [], upper)


def test_ranking_is_cut_into_stages_when_weights_would_overflow() -> None:
    terms = [
        _term(ObjectiveTerm.SHORTFALL, 1000),
        _term(ObjectiveTerm.TNI, 1000),
        _term(ObjectiveTerm.TRAVEL, 1000),
    ]
    stages = make_stages(terms, max_range=10**7)
    assert [[t.name for t in s.terms] for s in stages] == [
        [ObjectiveTerm.SHORTFALL, ObjectiveTerm.TNI],
        [ObjectiveTerm.TRAVEL],
    ]
    assert stages[0].weights == (1001, 1)


def test_terms_that_cannot_vary_are_dropped() -> None:
    stages = make_stages([_term(ObjectiveTerm.SHORTFALL, 4), _term(ObjectiveTerm.TNI, 0)])
    assert [[t.name for t in s.terms] for s in stages] == [[ObjectiveTerm.SHORTFALL]]


def test_term_uppers_without_a_model_match_the_model_terms() -> None:
    for instance in CASES.values():
        data = build_data(instance)
        model = cp_model.CpModel()
        terms = objective_terms(model, data, make_variables(model, data))
        assert term_uppers(data) == [t.upper for t in terms]


def test_replan_stages_rank_disruption_under_shortfall_then_alone() -> None:
    terms = [
        _term(ObjectiveTerm.SHORTFALL, 50),
        _term(ObjectiveTerm.DISRUPTION, 40),
        _term(ObjectiveTerm.TNI, 30),
    ]
    stages = baseline_stages(terms)
    assert [[t.name for t in s.terms] for s in stages] == [
        [ObjectiveTerm.SHORTFALL, ObjectiveTerm.DISRUPTION],
        [ObjectiveTerm.DISRUPTION],
        [ObjectiveTerm.TNI],
    ]
    assert stages[0].weights == (41, 1)


def test_replan_stages_start_with_disruption_when_nothing_ranks_above_it() -> None:
    # The terms above disruption were solved on the coarse pooling: no duplicate stage.
    terms = [_term(ObjectiveTerm.DISRUPTION, 40), _term(ObjectiveTerm.TNI, 30)]
    assert [[t.name for t in s.terms] for s in baseline_stages(terms)] == [
        [ObjectiveTerm.DISRUPTION],
        [ObjectiveTerm.TNI],
    ]
