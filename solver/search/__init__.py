"""The search as a pipeline of declared phases.

A solve of one model is a list of :class:`~solver.search.phase.Phase` objects
(:func:`~solver.search.pipeline.phases_for`: one list for a cold solve, one for a re-plan)
walked by :func:`~solver.search.pipeline.run_phases` over a
:class:`~solver.search.context.SearchContext`; every phase's run is recorded in the result
(:attr:`solver.result.Result.phases`). Modules:

- :mod:`~solver.search.phase`: the protocol; :mod:`~solver.search.context`: the shared state;
  :mod:`~solver.search.incumbent`: the one incumbent keeper;
  :mod:`~solver.search.pipeline`: the lists and the loop.
- :mod:`~solver.search.start`, :mod:`~solver.search.stages`, :mod:`~solver.search.improve`:
  the phases (starting plans; CP-SAT models and their stages; travel moves and shift windows).
- :mod:`~solver.search.construct` (greedy and top-up starts, judging plans),
  :mod:`~solver.search.cpsat` (CP-SAT models and one stage's search),
  :mod:`~solver.search.counts` (count arrays between poolings and plans).
- :mod:`~solver.search.whole` (one model's solve), :mod:`~solver.search.parts` (independent
  parts one by one), :mod:`~solver.search.concurrent` (or at the same time, in lanes of
  processes), :mod:`~solver.search.outcome` (the result).
"""
