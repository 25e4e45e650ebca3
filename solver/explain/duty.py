"""Whether a unit may take one more shift under the duty rules, and if not, which rule stops it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from itertools import pairwise

from solver.domain import Rules, Shift

__all__ = ["duty_block"]


def duty_block(
    rules: Rules, unit: str, worked: Sequence[tuple[Shift, str]], shift: Shift
) -> str | None:
    """The duty rule that stops ``unit`` taking ``shift`` on top of ``worked``, or ``None``.

    Parameters
    ----------
    rules
        The instance's rules.
    unit
        The unit's id (for the message).
    worked
        The unit's other shifts, each with where it stands then (``"venue ring n"``).
    shift
        The shift it would take.
    """
    rest = timedelta(hours=rules.min_rest_hours)
    for other, where in worked:
        if other.start < shift.end + rest and shift.start < other.end + rest:
            return (
                f"{unit} rests around its shift {other.id} at {where} "
                f"(min_rest_hours {rules.min_rest_hours:g})"
            )
    if rules.max_shifts is not None and len(worked) + 1 > rules.max_shifts:
        return f"{unit} already works {len(worked)} shifts (max_shifts {rules.max_shifts})"
    starts = sorted([other.start for other, _ in worked] + [shift.start])
    if rules.max_shifts_per_24h is not None:
        day = timedelta(hours=24)
        for first in starts:
            if sum(first <= s < first + day for s in starts) > rules.max_shifts_per_24h:
                return (
                    f"{unit} would start more than {rules.max_shifts_per_24h} shifts within "
                    "24 h (max_shifts_per_24h)"
                )
    if rules.max_consecutive_days is not None:
        days = sorted({s.date() for s in starts})
        run = longest = 1
        for before, after in pairwise(days):
            run = run + 1 if (after - before).days == 1 else 1
            longest = max(longest, run)
        if longest > rules.max_consecutive_days:
            return (
                f"{unit} would be on duty {longest} days in a row "
                f"(max_consecutive_days {rules.max_consecutive_days})"
            )
    return None
