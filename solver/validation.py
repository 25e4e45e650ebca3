"""Checks across entities, and the one way instances are read from JSON.

Every problem is reported at once as a :class:`Problem` whose path names the entity and the
field, such as ``units[4].home.region: unknown region 'ntt-x'``. Well-formed but impossible
situations (a ring that can never be fully staffed) are warnings, not errors.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

if TYPE_CHECKING:
    from solver.domain import Instance

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


def problems_from_validation_error(error: ValidationError) -> list[Problem]:
    """Turn pydantic's errors into problems with field paths."""
    problems = []
    for item in error.errors(include_url=False):
        path = tuple(p for p in item["loc"] if isinstance(p, str | int))
        message = item["msg"].removeprefix("Value error, ")
        problems.append(Problem(path, message))
    return problems


def parse_instance(data: Any) -> Instance:
    """Validate plain data (decoded JSON) into an :class:`Instance`.

    Raises
    ------
    InstanceError
        With every problem found, field errors and broken references alike.
    """
    from solver.domain import Instance

    try:
        return Instance.model_validate(data)
    except ValidationError as error:
        problems = problems_from_validation_error(error)
        # Field errors stop the model before its reference check; run that on the raw data
        # so every problem is reported at once.
        seen = {p.path for p in problems}
        problems += [p for p in reference_problems(data) if p.path not in seen]
        raise InstanceError(problems) from None


def load_json(path: str | Path) -> Any:
    """Read a JSON file; a missing or malformed file is an :class:`InstanceError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InstanceError([Problem((), f"file not found: {path}")]) from None
    except OSError as error:
        raise InstanceError([Problem((), f"cannot read {path}: {error.strerror}")]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        message = f"{path} is not valid JSON: {error.msg} ({where})"
        raise InstanceError([Problem((), message)]) from None


def load_instance(path: str | Path) -> Instance:
    """Read and validate an instance from a JSON file."""
    return parse_instance(load_json(path))


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


def instance_warnings(instance: Instance) -> list[str]:
    """Well-formed but impossible situations, reported with the result instead of failing.

    - a ring whose required headcount exceeds its capacity at some risk level in some shift
      in which its venue is guarded;
    - a unit that can stand in no ring of any venue in any shift.
    """
    warnings: list[str] = []
    multipliers = instance.rules.risk_multipliers
    for venue in instance.venues:
        levels = {venue.risk_at(s.id) for s in instance.shifts if venue.guarded_in(s.id)}
        for ring in venue.rings:
            for level in sorted(levels, key=list(multipliers).index):
                required = math.ceil(ring.min_headcount * multipliers[level] - 1e-9)
                if required > ring.capacity:
                    warnings.append(
                        f"venue '{venue.id}' ring {ring.number}: requires {required} at "
                        f"{level.value} risk but holds at most {ring.capacity}; "
                        "a shortfall is unavoidable"
                    )
    return warnings
