"""Issue 5's comparison with the baselines, read from the records of ``ringplan bench``.

For each instance and baseline (``highs``, ``naive-cpsat``) with a run of ``--budget`` seconds:

- *to reach*: when ringplan's run of the largest budget first has a plan at least as good as
  the baseline's final plan (from ringplan's trace of improving plans; "no plan" when the
  baseline found none, in which case ringplan's first plan reaches it);
- *equal budgets*: ringplan against the baseline at each budget both were run with (their final
  plans) and at the trace points ``--at`` of the longest runs of each (the best plan either had
  by then). Lower is better; a missing plan loses to any plan.

Usage::

    python -m benchmarks.targets benchmarks/out/results/records --budget 60 --within 6
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Record = dict[str, Any]
BASELINES = ("highs", "naive-cpsat")


def best_by(trace: Sequence[Sequence[float]], t: float) -> int | None:
    """The best objective a run had at ``t`` seconds (``None`` before its first plan)."""
    reached = [int(objective) for at, objective, *_ in trace if at <= t]
    return min(reached) if reached else None


def time_to_reach(trace: Sequence[Sequence[float]], target: int | None) -> float | None:
    """When a run first had a plan at least as good as ``target`` (any plan if ``None``)."""
    for at, objective, *_ in trace:
        if target is None or int(objective) <= target:
            return float(at)
    return None


def better(ours: int | None, theirs: int | None) -> bool:
    """Whether ``ours`` is at least as good as ``theirs`` (a plan beats no plan)."""
    return ours is not None and (theirs is None or ours <= theirs)


def load(records: Path) -> dict[str, dict[str, dict[float, Record]]]:
    """Records by instance, then solver, then budget."""
    runs: dict[str, dict[str, dict[float, Record]]] = defaultdict(lambda: defaultdict(dict))
    for path in sorted(records.glob("*.json")):
        record = json.loads(path.read_text())
        runs[record["instance"]][record["solver"]][float(record["time_limit"])] = record
    return runs


def _number(value: int | None) -> str:
    return "no plan" if value is None else f"{value:.4g}"


def table(
    runs: dict[str, dict[str, dict[float, Record]]], budget: float, within: float, at: list[float]
) -> str:
    """The markdown table of the comparison."""
    lines = [
        f"| instance | baseline | its objective at {budget:g} s | ringplan reaches it at | "
        f"<= {within:g} s | equal budgets (ringplan / baseline) | ringplan better at each |",
        "|---|---|---:|---:|---|---|---|",
    ]
    for instance, solvers in sorted(runs.items()):
        ours = solvers.get("ringplan")
        if not ours:
            continue
        longest = ours[max(ours)]
        for name in BASELINES:
            theirs = solvers.get(name, {})
            if budget not in theirs:
                continue
            target = theirs[budget].get("objective")
            reach = time_to_reach(longest.get("trace", []), target)
            pairs = []
            for b in sorted(set(ours) & set(theirs)):
                pairs.append((f"{b:g} s", ours[b].get("objective"), theirs[b].get("objective")))
            for t in at:
                mine = best_by(longest.get("trace", []), t)
                other = best_by(theirs[max(theirs)].get("trace", []), t)
                pairs.append((f"at {t:g} s", mine, other))
            cells = "; ".join(f"{label}: {_number(a)} / {_number(b)}" for label, a, b in pairs)
            every = all(better(a, b) for _label, a, b in pairs)
            met = reach is not None and reach <= within
            lines.append(
                f"| {instance} | {name} | {_number(target)} | "
                f"{'never' if reach is None else f'{reach:.2f} s'} | {'yes' if met else 'no'} | "
                f"{cells} | {'yes' if every else 'no'} |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", type=Path, help="the records folder of a bench run")
    parser.add_argument("--budget", type=float, default=60.0, help="the baselines' budget")
    parser.add_argument("--within", type=float, default=6.0, help="issue 5's time to reach")
    parser.add_argument("--at", type=float, nargs="*", default=[2.0, 6.0, 30.0])
    args = parser.parse_args(argv)
    print(table(load(args.records), args.budget, args.within, args.at))


if __name__ == "__main__":
    main()
