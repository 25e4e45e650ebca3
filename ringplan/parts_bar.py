"""The progress bar of ``ringplan solve`` over an instance's parts (done / total, plans,
shortfall so far): a live bar on a terminal, one line per part otherwise."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from solver.parts.national import PartsCallback, PartsProgress


def _line(p: PartsProgress) -> str:
    return (
        f"  [{p.elapsed:7.2f} s] {p.round}: {p.done}/{p.total} parts done, "
        f"{p.planned} with a plan, shortfall so far {p.shortfall:,} headcount-shifts"
    )


@contextmanager
def parts_bar(enabled: bool = True) -> Iterator[PartsCallback | None]:
    """A :data:`~solver.parts.national.PartsCallback` that draws the bar on stderr."""
    if not enabled:
        yield None
        return
    console = Console(file=sys.stderr)
    if not console.is_terminal:

        def print_line(p: PartsProgress) -> None:
            print(_line(p), file=sys.stderr, flush=True)

        yield print_line
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        tasks: dict[str, TaskID] = {}

        def update(p: PartsProgress) -> None:
            if p.round not in tasks:
                tasks[p.round] = bar.add_task(f"parts ({p.round})", total=p.total, status="")
            status = f"{p.planned} planned, shortfall {p.shortfall:,}"
            bar.update(tasks[p.round], completed=p.done, status=status)

        yield update
