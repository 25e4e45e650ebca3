"""The RPC handlers: they translate, admit, and call the solver; the planning is in ``solver``."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from importlib.metadata import version

import grpc
from pydantic import ValidationError

from ringplan.v1 import instance_pb2 as pb
from ringplan.v1 import ringplan_service_pb2 as api
from ringplan.v1 import ringplan_service_pb2_grpc as api_grpc
from server.admission import Admission, Overloaded, ShuttingDown, Ticket
from server.config import ServerConfig
from server.convert import (
    instance_from_proto,
    plan_from_proto,
    progress_to_proto,
    result_to_proto,
)
from server.errors import (
    FieldViolation,
    ServiceError,
    edge,
    invalid_argument,
    violations_from,
)
from server.workers import Job, SolveCancelled, SolveFailed, WorkerPool
from solver import Instance, InstanceError, Progress, Result
from solver.presets import PRESETS
from solver.size import model_size
from solver.validation import instance_warnings, problems_from_validation_error

logger = logging.getLogger(__name__)


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


def read_job(
    instance_msg: pb.Instance,
    options: api.SolveOptions,
    context: grpc.ServicerContext,
    config: ServerConfig,
) -> Job:
    """Everything a solve needs, validated; every bad field is reported at once."""
    violations: list[FieldViolation] = []
    if not options.time_limit_seconds >= 0:  # NaN too
        violations.append(
            FieldViolation("options.time_limit_seconds", "must be a number, not negative")
        )
    if options.workers < 0:
        violations.append(FieldViolation("options.workers", "must not be negative"))
    if options.HasField("seed") and not -(2**31) <= options.seed < 2**31:
        violations.append(FieldViolation("options.seed", "must fit in 32 bits (CP-SAT's seed)"))
    preset = options.preset or "default"
    if preset not in PRESETS:
        known = ", ".join(sorted(PRESETS))
        violations.append(
            FieldViolation("options.preset", f"unknown preset '{preset}' (known: {known})")
        )
    hint = None
    if options.HasField("hint"):
        try:
            hint = plan_from_proto(options.hint)
        except ValidationError as error:
            problems = problems_from_validation_error(error)
            violations += violations_from(problems, "options.hint")
    instance = None
    try:
        instance = read_instance(instance_msg, config)
    except ServiceError as error:
        violations = [*error.violations, *violations]
    if violations or instance is None:
        raise invalid_argument(violations)
    limit = granted_time_limit(options.time_limit_seconds, context.time_remaining(), config)
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
    )


def _cancel_on_termination(context: grpc.ServicerContext, ticket: Ticket) -> None:
    """Cancel the solve when the call ends early (client cancel, deadline, shutdown)."""
    if not context.add_callback(ticket.cancel.set):
        ticket.cancel.set()  # the call had already ended


class RingplanServicer(api_grpc.RingplanServiceServicer):
    """Adapts the API to the solver; admission keeps solves within the server's limit."""

    def __init__(self, config: ServerConfig, admission: Admission, pool: WorkerPool) -> None:
        self._config = config
        self._admission = admission
        self._pool = pool

    def _admit(self) -> Ticket:
        """A ticket for a new solve, or an error when the server cannot take it."""
        try:
            return self._admission.enter()
        except Overloaded:
            raise ServiceError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"the server is running its limit of {self._config.max_concurrent_solves} "
                "solves; retry later",
                retry_after=self._config.retry_after,
            ) from None
        except ShuttingDown:
            raise ServiceError(
                grpc.StatusCode.UNAVAILABLE, "the server is shutting down; retry elsewhere"
            ) from None

    def _run(self, job: Job, ticket: Ticket, progress: queue.SimpleQueue[object] | None) -> Result:
        try:
            return self._pool.run(job, None if progress is None else progress.put, ticket)
        except SolveFailed as error:
            raise ServiceError(grpc.StatusCode.INTERNAL, str(error)) from None
        except SolveCancelled:
            raise ServiceError(grpc.StatusCode.CANCELLED, "the call ended") from None
        finally:
            self._admission.leave(ticket)

    @edge
    def Solve(self, request: api.SolveRequest, context: grpc.ServicerContext) -> api.SolveResponse:
        ticket = self._admit()
        try:
            job = read_job(request.instance, request.options, context, self._config)
        except BaseException:
            self._admission.leave(ticket)
            raise
        _cancel_on_termination(context, ticket)
        result = self._run(job, ticket, None)
        return api.SolveResponse(result=result_to_proto(result))

    @edge
    def SolveStream(
        self, request: api.SolveStreamRequest, context: grpc.ServicerContext
    ) -> Iterator[api.SolveStreamResponse]:
        ticket = self._admit()
        try:
            job = read_job(request.instance, request.options, context, self._config)
        except BaseException:
            self._admission.leave(ticket)
            raise
        _cancel_on_termination(context, ticket)
        events: queue.SimpleQueue[object] = queue.SimpleQueue()

        def run() -> None:
            try:
                events.put(self._run(job, ticket, events))
            except BaseException as error:  # handed to the handler thread to report
                events.put(error)

        threading.Thread(target=run, name="solve", daemon=True).start()
        best: int | None = None
        while True:
            event = events.get()
            if isinstance(event, Progress):
                # Progress comes from several solver threads; only strict improvements go out.
                if best is None or event.objective < best:
                    best = event.objective
                    yield api.SolveStreamResponse(progress=progress_to_proto(event))
            elif isinstance(event, Result):
                yield api.SolveStreamResponse(result=result_to_proto(event))
                return
            elif isinstance(event, BaseException):
                raise event

    @edge
    def Validate(
        self, request: api.ValidateRequest, context: grpc.ServicerContext
    ) -> api.ValidateResponse:
        try:
            instance = read_instance(request.instance, self._config)
        except ServiceError as error:
            return api.ValidateResponse(
                valid=False,
                problems=[
                    api.Problem(field=v.field, description=v.description) for v in error.violations
                ],
            )
        return api.ValidateResponse(valid=True, warnings=instance_warnings(instance))

    @edge
    def GetInfo(
        self, request: api.GetInfoRequest, context: grpc.ServicerContext
    ) -> api.GetInfoResponse:
        c = self._config
        return api.GetInfoResponse(
            server_version=version("ringplan"),
            solver_version=f"OR-Tools {version('ortools')}",
            limits=api.Limits(
                max_concurrent_solves=c.max_concurrent_solves,
                max_time_limit_seconds=c.max_time_limit,
                default_time_limit_seconds=c.default_time_limit,
                deadline_margin_seconds=c.deadline_margin,
                max_workers=c.max_workers,
                max_message_bytes=c.max_message_bytes,
                max_units=c.max_units,
                max_venues=c.max_venues,
                max_shifts=c.max_shifts,
                max_candidates=c.max_candidates,
            ),
            active_solves=self._admission.active,
            presets=sorted(PRESETS),
        )
