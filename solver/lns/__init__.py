"""Neighbourhoods of a plan, and the re-plan of one (see :mod:`solver.lns.duty`)."""

from solver.lns.duty import binding_groups, duty_groups, short_slots
from solver.lns.window import merge_window, replan_window

__all__ = ["binding_groups", "duty_groups", "merge_window", "replan_window", "short_slots"]
