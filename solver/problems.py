"""Problems in an input, each located by a path, and the checks that need no domain model.

:func:`reference_problems` works on plain data (decoded JSON), so the domain's own validator
(:class:`solver.domain.Instance`) and :func:`solver.validation.parse_instance` both use it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

PathPart = str | int


@dataclass(frozen=True)
class Problem:
    """One problem in an input, located by a path of field names and list indices."""

    path: tuple[PathPart, ...]
    message: str

    @property
    def location(self) -> str:
        """The path written as ``units[4].home.region``."""
        return format_path(self.path)

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.path else self.message


class InstanceError(Exception):
    """An input that cannot be planned; holds every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the input:\n{lines}")


def format_path(path: Iterable[PathPart]) -> str:
    """Write a path as ``venues[2].rings[0].capacity``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def _duplicates(ids: Iterable[object]) -> set[object]:
    return {key for key, count in Counter(ids).items() if count > 1}


def _items(data: Any, name: str) -> list[Any]:
    value = data.get(name) if isinstance(data, dict) else None
    return list(value) if isinstance(value, list | tuple) else []


def _get(item: Any, *path: str) -> Any:
    for name in path:
        item = item.get(name) if isinstance(item, dict) else None
    return item


def reference_problems(data: Any) -> list[Problem]:
    """Every broken reference and duplicate id, found in plain instance data.

    Works on data that failed field validation too (a missing or malformed field is skipped),
    so that :func:`parse_instance` reports field and reference problems together.
    """
    problems: list[Problem] = []
    for field in ("regions", "venues", "units", "shifts", "reserve"):
        ids = [_get(item, "id") for item in _items(data, field)]
        dupes = _duplicates(i for i in ids if isinstance(i, str))
        for index, item_id in enumerate(ids):
            if item_id in dupes:
                problems.append(Problem((field, index, "id"), f"duplicate id '{item_id}'"))
    unit_ids = {_get(u, "id") for u in _items(data, "units")}
    for index, item in enumerate(_items(data, "reserve")):
        if _get(item, "id") in unit_ids:
            message = f"reserve unit '{_get(item, 'id')}' has the id of a unit"
            problems.append(Problem(("reserve", index, "id"), message))

    regions = {_get(r, "id"): r for r in _items(data, "regions")}
    shift_ids = {_get(s, "id") for s in _items(data, "shifts")}

    for index, region in enumerate(_items(data, "regions")):
        path: tuple[PathPart, ...] = ("regions", index, "parent")
        level, parent = _get(region, "level"), _get(region, "parent")
        if level == "province":
            if parent is not None:
                problems.append(Problem(path, "a province has no parent region"))
        elif level not in ("regency", "city"):
            continue
        elif parent is None:
            problems.append(Problem(path, f"a {level} needs its province as parent"))
        elif parent not in regions:
            problems.append(Problem(path, f"unknown region '{parent}'"))
        elif _get(regions[parent], "level") != "province":
            problems.append(Problem(path, f"parent '{parent}' is not a province"))

    for index, venue in enumerate(_items(data, "venues")):
        region = _get(venue, "region")
        if isinstance(region, str) and region not in regions:
            problems.append(Problem(("venues", index, "region"), f"unknown region '{region}'"))
        for o_index, override in enumerate(_items(venue, "risk_overrides")):
            for s_index, shift in enumerate(_items(override, "shifts")):
                if isinstance(shift, str) and shift not in shift_ids:
                    path = ("venues", index, "risk_overrides", o_index, "shifts", s_index)
                    problems.append(Problem(path, f"unknown shift '{shift}'"))
        for s_index, shift in enumerate(_items(venue, "guarded_shifts")):
            if isinstance(shift, str) and shift not in shift_ids:
                path = ("venues", index, "guarded_shifts", s_index)
                problems.append(Problem(path, f"unknown shift '{shift}'"))

    for index, unit in enumerate(_items(data, "units")):
        region = _get(unit, "home", "region")
        if isinstance(region, str) and region not in regions:
            path = ("units", index, "home", "region")
            problems.append(Problem(path, f"unknown region '{region}'"))
        for s_index, shift in enumerate(_items(unit, "available_shifts")):
            if isinstance(shift, str) and shift not in shift_ids:
                path = ("units", index, "available_shifts", s_index)
                problems.append(Problem(path, f"unknown shift '{shift}'"))
    return problems
