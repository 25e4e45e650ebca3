"""What a phase of the search is: a name, when it applies, and what it does to the context.

A solve is a list of phases (:func:`solver.search.pipeline.phases_for`) walked by one loop
(:func:`solver.search.pipeline.run_phases`); the loop records each phase's run in the result's
trace. A phase reads and changes the :class:`~solver.search.context.SearchContext` only: it
offers plans to the incumbent keeper, builds models, and says why it ended with
:meth:`~solver.search.context.SearchContext.end_phase`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from solver.search.context import SearchContext


class Phase(Protocol):
    """One step of the search."""

    @property
    def name(self) -> str:
        """A short name for a person (``greedy start``, ``shift windows``)."""
        ...

    def applies(self, ctx: SearchContext) -> bool:
        """Whether the phase has anything to do in this solve at this point."""
        ...

    def run(self, ctx: SearchContext) -> None:
        """Do the phase's work; without a call of ``ctx.end_phase`` it ended ``done``."""
        ...
