"""PNG plots of benchmark records (matplotlib, no display needed)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RISKS = ("low", "medium", "high", "very_high")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_objective(records: Sequence[dict[str, Any]], path: Path, title: str) -> Path:
    """Objective (solid) and proven bound (dashed) over time, one colour per planner."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for index, r in enumerate(records):
        colour = f"C{index % 10}"
        label = f"{r['solver']} (seed {r['seed']})"
        points = [p for p in r.get("trace") or [] if p[1] is not None and p[1] > 0]
        if not points:
            continue
        times = [p[0] for p in points]
        ax.step(times, [p[1] for p in points], where="post", color=colour, label=label, marker=".")
        bounds = [(p[0], p[2]) for p in points if p[2] is not None and p[2] > 0]
        if bounds:
            ax.step(
                [b[0] for b in bounds],
                [b[1] for b in bounds],
                where="post",
                color=colour,
                linestyle="--",
                label=f"{label} bound",
            )
    ax.set_yscale("log")
    ax.set_xlabel("seconds since the start (model building included)")
    ax.set_ylabel("objective (strict priorities, lower is better)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    else:
        ax.text(0.5, 0.5, "no plan in the budget", ha="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_shortfall(records: Sequence[dict[str, Any]], path: Path, title: str) -> Path:
    """Missing headcount-shifts by ring and by risk level, one bar per planner."""
    plt = _pyplot()
    fig, (by_ring, by_risk) = plt.subplots(1, 2, figsize=(9, 3.6))
    width = 0.8 / max(1, len(records))
    for index, r in enumerate(records):
        missing = r.get("shortfall_by") or {}
        rings = [missing.get(f"ring {n}", 0) for n in (1, 2, 3, 4)]
        risks = [missing.get(f"risk {level}", 0) for level in RISKS]
        shift = (index - (len(records) - 1) / 2) * width
        by_ring.bar([n + shift for n in range(4)], rings, width, label=r["solver"])
        by_risk.bar([n + shift for n in range(4)], risks, width, label=r["solver"])
    by_ring.set_xticks(range(4), [f"ring {n}" for n in (1, 2, 3, 4)])
    by_risk.set_xticks(range(4), list(RISKS))
    by_ring.set_ylabel("missing headcount-shifts")
    by_ring.set_title("by ring")
    by_risk.set_title("by risk")
    by_ring.legend(fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_plots(records: Sequence[dict[str, Any]], folder: Path) -> list[Path]:
    """Two plots per instance and budget: objective over time, shortfall by ring and risk."""
    folder.mkdir(parents=True, exist_ok=True)
    groups: dict[tuple[str, float], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[r["instance"], r["time_limit"]].append(r)
    paths = []
    for (instance, budget), group in sorted(groups.items()):
        stem = f"{instance}-{budget:g}s"
        title = f"{instance}, {budget:g} s budget"
        paths.append(plot_objective(group, folder / f"{stem}-objective.png", title))
        with_plans = [r for r in group if r.get("check_ok") is not None]
        if with_plans:
            paths.append(plot_shortfall(with_plans, folder / f"{stem}-shortfall.png", title))
    return paths
