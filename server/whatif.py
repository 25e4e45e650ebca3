"""What-if requests: read and checked in the server, answered in a worker process."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from pydantic import ValidationError

from ringplan.v1 import ringplan_service_pb2 as api
from ringplan.v1 import whatif_pb2 as wpb
from server.config import ServerConfig
from server.convert import _Reader, change_data, oneof_path, plan_from_proto
from server.errors import FieldViolation, ServiceError, invalid_argument, violations_from
from server.requests import granted_time_limit, option_violations, read_instance, reply_by
from solver import Instance, InstanceError, Plan, Problem, Progress
from solver.validation import PathPart, problems_from_validation_error
from solver.whatif import (
    WhatIfBatchRequest,
    WhatIfBatchResponse,
    WhatIfRequest,
    WhatIfResponse,
    whatif,
    whatif_batch,
)
from solver.whatif.replan import (
    REPRODUCIBLE_WALL_FACTOR,
    by_deadline,
    check_batch,
    check_request,
)

SLACK = 1.2
"""The watchdog's budget over the solves' own: diffs and key figures are computed after."""


@dataclass(frozen=True)
class WhatIfTask:
    """One scenario, for a worker process."""

    request: WhatIfRequest
    time_limit: float
    changed: Instance
    """The changed instance, from the check when the request arrived."""
    reply_by: float | None = None
    """Wall-clock time the answer must be back by (see :attr:`server.workers.Task.reply_by`)."""

    def run(
        self,
        progress: Callable[[Progress], None],
        incumbent: Callable[[Plan], None],
        stop: threading.Event,
    ) -> WhatIfResponse:
        """Re-plan (in the worker process), within the call's deadline if it has one."""
        options = by_deadline(self.request.options, self.reply_by, 1)
        request = self.request.model_copy(update={"options": options})
        return whatif(request, progress=progress, stop=stop, changed=self.changed)


@dataclass(frozen=True)
class WhatIfBatchTask:
    """Several scenarios, for a worker process that solves them side by side."""

    request: WhatIfBatchRequest
    time_limit: float
    changed: tuple[Instance, ...]
    """Each scenario's changed instance, from the check when the batch arrived."""
    reply_by: float | None = None
    """Wall-clock time the answer must be back by (see :attr:`server.workers.Task.reply_by`)."""

    def run(
        self,
        progress: Callable[[Progress], None],
        incumbent: Callable[[Plan], None],
        stop: threading.Event,
    ) -> WhatIfBatchResponse:
        """Answer every scenario (in the worker process), the last round within the call's
        deadline if it has one."""
        return whatif_batch(self.request, stop=stop, changed=self.changed, reply_by=self.reply_by)


def _options(
    message: wpb.WhatIfOptions,
    remaining: float | None,
    config: ServerConfig,
    rounds: int,
    violations: list[FieldViolation],
) -> tuple[dict[str, Any], float]:
    """ReplanOptions data and the seconds granted to the whole task (its solves' share)."""
    violations += option_violations(message)
    if not message.deterministic_time_seconds >= 0:  # NaN too
        violations.append(
            FieldViolation("options.deterministic_time_seconds", "must be a number, not negative")
        )
    preset = message.preset or "default"
    granted = granted_time_limit(max(0.0, message.time_limit_seconds), remaining, config)
    if granted is None:
        raise ServiceError(
            grpc.StatusCode.DEADLINE_EXCEEDED,
            f"the call's deadline leaves no time to re-plan (the server keeps "
            f"{config.deadline_margin} s to reply)",
        )
    wall = granted / rounds
    per_solve = wall / REPRODUCIBLE_WALL_FACTOR if message.reproducible else wall
    options = {
        "time_limit": max(0.01, per_solve),
        "workers": min(message.workers or config.default_workers, config.max_workers),
        "preset": preset,
        "seed": message.seed if message.HasField("seed") else None,
        "reproducible": message.reproducible,
        "deterministic_time": message.deterministic_time_seconds or None,
    }
    return options, granted


def _changes(
    messages: Sequence[wpb.Change], prefix: tuple[PathPart, ...], reader: _Reader
) -> list[dict[str, Any]]:
    return [change_data(c, reader, (*prefix, "changes", i)) for i, c in enumerate(messages)]


def _located(
    problems: Sequence[Problem], changes_of: Callable[[tuple[PathPart, ...]], Any]
) -> list[FieldViolation]:
    """Violations for domain problems, with the oneof field put into change paths."""
    located = [Problem(changes_of(p.path), p.message) for p in problems]
    return violations_from(located, "")


M = TypeVar("M", WhatIfRequest, WhatIfBatchRequest)
C = TypeVar("C")


def _checked(
    model: type[M],
    check: Callable[[M], C],
    data: dict[str, Any],
    violations: list[FieldViolation],
    path: Callable[[tuple[PathPart, ...]], tuple[PathPart, ...]],
) -> tuple[M, C]:
    """The validated request and what ``check`` returned for it, once its wire-level
    ``violations`` are none and ``check`` finds nothing; otherwise INVALID_ARGUMENT with every
    problem, located by ``path``."""
    if not violations:
        try:
            request = model.model_validate(data)
            return request, check(request)
        except ValidationError as error:
            violations += _located(problems_from_validation_error(error), path)
        except InstanceError as error:
            violations += _located(error.problems, path)
    raise invalid_argument(violations)


@dataclass(frozen=True)
class _Budget:
    """A task's time: the watchdog's budget and the time its answer must be back by."""

    time_limit: float
    reply_by: float | None


def _base(
    message: Any, remaining: float | None, config: ServerConfig, rounds: int
) -> tuple[dict[str, Any], list[FieldViolation], _Budget, _Reader]:
    """What a single and a batch request share: instance, plan, now, options."""
    began = time.monotonic()
    violations: list[FieldViolation] = []
    data: dict[str, Any] = {}
    try:
        data["instance"] = read_instance(message.instance, config)
    except ServiceError as error:
        violations += error.violations
    try:
        data["plan"] = plan_from_proto(message.plan)
    except ValidationError as error:
        violations += violations_from(problems_from_validation_error(error), "plan")
    if message.now:
        data["now"] = message.now
    left = None if remaining is None else remaining - (time.monotonic() - began)
    data["options"], granted = _options(message.options, left, config, rounds, violations)
    return data, violations, _Budget(granted * SLACK, reply_by(left, config)), _Reader()


def read_whatif(
    message: api.WhatIfRequest | api.WhatIfStreamRequest,
    remaining: float | None,
    config: ServerConfig,
) -> WhatIfTask:
    """A checked what-if request; every problem is reported at once, by proto field path.

    Raises
    ------
    ServiceError
        INVALID_ARGUMENT naming every bad field.
    """
    data, violations, budget, reader = _base(message, remaining, config, 1)
    data["changes"] = _changes(message.changes, (), reader)
    violations += violations_from(reader.problems, "")

    def path(p: tuple[PathPart, ...]) -> tuple[PathPart, ...]:
        return oneof_path(p, message.changes)

    request, changed = _checked(WhatIfRequest, check_request, data, violations, path)
    return WhatIfTask(
        request=request, time_limit=budget.time_limit, changed=changed, reply_by=budget.reply_by
    )


def read_batch(
    message: api.WhatIfBatchRequest, remaining: float | None, config: ServerConfig, slots: int
) -> WhatIfBatchTask:
    """A checked batch that solves ``slots`` scenarios at a time (see :func:`read_whatif`)."""
    if message.max_parallel < 0:
        raise invalid_argument([FieldViolation("max_parallel", "must not be negative")])
    parallel = max(1, min(slots, len(message.scenarios)))
    rounds = max(1, math.ceil(len(message.scenarios) / parallel))
    data, violations, budget, reader = _base(message, remaining, config, rounds)
    data["scenarios"] = [
        {"name": s.name, "changes": _changes(s.changes, ("scenarios", i), reader)}
        for i, s in enumerate(message.scenarios)
    ]
    data["max_parallel"] = parallel
    violations += violations_from(reader.problems, "")

    def path(p: tuple[PathPart, ...]) -> tuple[PathPart, ...]:
        index = p[1] if len(p) >= 2 and p[0] == "scenarios" else None
        if isinstance(index, int) and index < len(message.scenarios):
            return (*p[:2], *oneof_path(p[2:], message.scenarios[index].changes))
        return p

    batch, changed = _checked(WhatIfBatchRequest, check_batch, data, violations, path)
    return WhatIfBatchTask(
        request=batch,
        time_limit=budget.time_limit,
        changed=tuple(changed),
        reply_by=budget.reply_by,
    )
