"""Reading requests: validation against the domain and the server's limits, and the budget
the server grants a solve."""

from __future__ import annotations

import time

import grpc
from pydantic import ValidationError

from ringplan.v1 import instance_pb2 as pb
from ringplan.v1 import ringplan_service_pb2 as api
from ringplan.v1 import whatif_pb2 as wpb
from server.config import ServerConfig
from server.convert import instance_from_proto, plan_from_proto
from server.errors import FieldViolation, ServiceError, invalid_argument, violations_from
from server.workers import Job
from solver import Instance, InstanceError
from solver.presets import PRESETS
from solver.size import model_size
from solver.validation import problems_from_validation_error


def _count_caps(message: pb.Instance, config: ServerConfig) -> list[FieldViolation]:
    """Caps that can be checked on the raw message, before any parsing."""
    found = []
    for name, limit in (
        ("units", config.max_units),
        ("venues", config.max_venues),
        ("shifts", config.max_shifts),
    ):
        count = len(getattr(message, name))
        if count > limit:
            found.append(
                FieldViolation(
                    f"instance.{name}", f"{count} {name} exceed the server's limit of {limit}"
                )
            )
    return found


def read_instance(message: pb.Instance, config: ServerConfig) -> Instance:
    """Validate an instance message against the domain and the server's size caps.

    Raises
    ------
    ServiceError
        INVALID_ARGUMENT with a field violation for every problem.
    """
    caps = _count_caps(message, config)
    if caps:
        raise invalid_argument(caps)
    try:
        instance = instance_from_proto(message)
    except InstanceError as error:
        raise invalid_argument(violations_from(error.problems, "instance")) from None
    size = model_size(instance)
    if size.candidates > config.max_candidates:
        raise invalid_argument(
            [
                FieldViolation(
                    "instance",
                    f"the model would have {size.candidates} candidate assignments, over the "
                    f"server's limit of {config.max_candidates}",
                )
            ]
        )
    return instance


def granted_time_limit(
    requested: float, remaining: float | None, config: ServerConfig
) -> float | None:
    """min(requested or default, server maximum, deadline minus margin); ``None`` if no time."""
    limit = min(requested or config.default_time_limit, config.max_time_limit)
    if remaining is not None:
        limit = min(limit, remaining - config.deadline_margin)
    return limit if limit > 0 else None


def reply_by(left: float | None, config: ServerConfig) -> float | None:
    """Wall-clock time (``time.time()``) a call's work must end by: its deadline, ``left``
    seconds from now, less the margin kept to reply; ``None`` for a call with no deadline."""
    return None if left is None else time.time() + left - config.deadline_margin


def option_violations(options: api.SolveOptions | wpb.WhatIfOptions) -> list[FieldViolation]:
    """Problems of the options every solve shares: time limit, seed, workers, preset."""
    violations: list[FieldViolation] = []
    if not options.time_limit_seconds >= 0:  # NaN too
        violations.append(
            FieldViolation("options.time_limit_seconds", "must be a number, not negative")
        )
    if options.HasField("seed") and not -(2**31) <= options.seed < 2**31:
        violations.append(FieldViolation("options.seed", "must fit in 32 bits (CP-SAT's seed)"))
    if options.workers < 0:
        violations.append(FieldViolation("options.workers", "must not be negative"))
    preset = options.preset or "default"
    if preset not in PRESETS:
        known = ", ".join(sorted(PRESETS))
        violations.append(
            FieldViolation("options.preset", f"unknown preset '{preset}' (known: {known})")
        )
    return violations


def read_job(
    instance_msg: pb.Instance,
    options: api.SolveOptions,
    remaining: float | None,
    config: ServerConfig,
) -> Job:
    """Everything a solve needs, validated; every bad field is reported at once.

    ``remaining`` is the time left before the call's deadline when the call began (``None``:
    no deadline); the time spent reading the request is taken off it.
    """
    began = time.monotonic()
    # The options' few problems first: a long list of errors is cut at the end.
    violations = option_violations(options)
    preset = options.preset or "default"
    instance = None
    try:
        instance = read_instance(instance_msg, config)
    except ServiceError as error:
        violations += error.violations
    hint = None
    if options.HasField("hint"):
        try:
            hint = plan_from_proto(options.hint)
        except ValidationError as error:
            problems = problems_from_validation_error(error)
            violations += violations_from(problems, "options.hint")
    if violations or instance is None:
        raise invalid_argument(violations)
    left = None if remaining is None else remaining - (time.monotonic() - began)
    limit = granted_time_limit(options.time_limit_seconds, left, config)
    if limit is None:
        raise ServiceError(
            grpc.StatusCode.DEADLINE_EXCEEDED,
            f"the call's deadline leaves no time to solve (the server keeps "
            f"{config.deadline_margin} s to reply)",
        )
    return Job(
        instance=instance,
        time_limit=limit,
        workers=min(options.workers or config.default_workers, config.max_workers),
        preset=preset,
        seed=options.seed if options.HasField("seed") else None,
        hint=hint,
        reply_by=reply_by(left, config),
    )
