"""Plans built and bettered without CP-SAT, on the model data's count arrays.

:mod:`~solver.heuristics.greedy` (the greedy starts), :mod:`~solver.heuristics.repair`
(shortfall lowered by moves within shifts), :mod:`~solver.heuristics.travel` (journeys
shortened by local moves), :mod:`~solver.heuristics.restore` (places in force given back in a
re-plan), and :mod:`~solver.heuristics.placements` (a plan held unit by unit for those moves).
"""
