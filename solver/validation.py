"""Checks across entities, and the one way instances are read from JSON.

Every problem is reported at once as a :class:`Problem` whose path names the entity and the
field, such as ``units[4].home.region: unknown region 'ntt-x'``. Well-formed but impossible
situations (a ring that can never be fully staffed) are warnings, not errors.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from solver.domain import Instance
from solver.problems import InstanceError, PathPart, Problem, format_path, reference_problems

__all__ = [
    "InstanceError",
    "PathPart",
    "Problem",
    "format_path",
    "instance_warnings",
    "load_instance",
    "load_json",
    "parse_instance",
    "problems_from_validation_error",
    "reference_problems",
]


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
