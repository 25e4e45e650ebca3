"""A typed Python client for the ringplan service: domain objects in, domain objects out."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from ringplan.v1 import instance_pb2 as pb
from ringplan.v1 import jobs_pb2 as jpb
from ringplan.v1 import ringplan_service_pb2 as api
from ringplan.v1 import ringplan_service_pb2_grpc as api_grpc
from ringplan.v1 import whatif_pb2 as wpb
from server.config import ServerConfig
from server.convert import (
    answer_from_proto,
    change_to_proto,
    instance_to_proto,
    plan_to_proto,
    progress_from_proto,
    result_from_proto,
)
from server.errors import FieldViolation
from server.jobs.state import JOB_STATE_VALUES, JOB_STATES, JobState
from server.names import SERVICE_NAME
from server.security import client_channel
from solver import Instance, Plan, Progress, Result
from solver.whatif import Change, ReplanOptions, Scenario, WhatIfResponse


class RingplanError(Exception):
    """A call the service refused, with its status code and details."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        violations: tuple[FieldViolation, ...] = (),
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.violations = violations
        """Bad request fields (INVALID_ARGUMENT)."""
        self.retry_after = retry_after
        """Suggested back-off in seconds (RESOURCE_EXHAUSTED)."""


def error_from_rpc(error: grpc.RpcError) -> RingplanError:
    """Read the status code and the rich details of a failed call."""
    code: grpc.StatusCode = error.code()
    message: str = error.details() or ""
    violations: list[FieldViolation] = []
    retry_after = None
    status = rpc_status.from_call(error)
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                violations += [FieldViolation(v.field, v.description) for v in bad.field_violations]
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                info = error_details_pb2.RetryInfo()
                detail.Unpack(info)
                retry_after = info.retry_delay.ToNanoseconds() / 1e9
    return RingplanError(code, message, tuple(violations), retry_after)


@dataclass(frozen=True)
class Validation:
    """What ``Validate`` found."""

    valid: bool
    problems: tuple[FieldViolation, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class JobView:
    """A job as the service reports it."""

    id: str
    request_id: str
    state: JobState
    reason: str
    created_at: str
    started_at: str
    finished_at: str
    updated_at: str
    attempts: int
    progress: Progress | None
    result: Result | None
    crashes: int = 0
    """Attempts a crash of the server interrupted (only these count against the attempt cap)."""

    @classmethod
    def from_proto(cls, message: jpb.Job) -> JobView:
        return cls(
            id=message.id,
            request_id=message.request_id,
            state=JOB_STATES[message.state],
            reason=message.reason,
            created_at=message.created_at,
            started_at=message.started_at,
            finished_at=message.finished_at,
            updated_at=message.updated_at,
            attempts=message.attempts,
            progress=progress_from_proto(message.progress)
            if message.HasField("progress")
            else None,
            result=result_from_proto(message.result) if message.HasField("result") else None,
            crashes=message.crashes,
        )


@dataclass(frozen=True)
class BatchAnswer:
    """What ``WhatIfBatch`` answered."""

    answers: tuple[WhatIfResponse, ...]
    table_text: str
    parallel: int
    """Scenarios the server solved at once."""
    workers_per_solve: int


@dataclass(frozen=True)
class ServerInfo:
    """Versions, limits and load of a server."""

    server_version: str
    solver_version: str
    limits: api.Limits
    active_solves: int
    presets: tuple[str, ...]


def _options(
    time_limit: float | None,
    workers: int | None,
    preset: str | None,
    seed: int | None,
    hint: Plan | None,
) -> api.SolveOptions:
    return api.SolveOptions(
        time_limit_seconds=time_limit or 0.0,
        workers=workers or 0,
        preset=preset or "",
        seed=seed,
        hint=plan_to_proto(hint) if hint is not None else None,
    )


class RingplanClient:
    """Calls a ringplan server; every failed call raises :class:`RingplanError`.

    Parameters
    ----------
    target
        ``host:port`` of the server.
    timeout
        Default deadline of each call in seconds (``None``: none beyond the solve's own limit).
    tls
        Speak TLS, trusting the system's root certificates unless ``root_certificates`` is
        given (any certificate option implies TLS).
    root_certificates
        PEM CA certificates to trust for the server's certificate.
    client_cert, client_key
        PEM certificate chain and private key of this client, for mutual TLS.
    token
        Bearer token sent as ``authorization: Bearer <token>`` on every call, health included.
    """

    def __init__(
        self,
        target: str,
        *,
        timeout: float | None = None,
        max_message_bytes: int = ServerConfig.max_message_bytes,
        tls: bool = False,
        root_certificates: bytes | None = None,
        client_cert: bytes | None = None,
        client_key: bytes | None = None,
        token: str | None = None,
    ) -> None:
        self._channel = client_channel(
            target,
            [
                ("grpc.max_receive_message_length", max_message_bytes),
                ("grpc.max_send_message_length", max_message_bytes),
            ],
            tls=tls,
            root_certificates=root_certificates,
            client_cert=client_cert,
            client_key=client_key,
            token=token,
        )
        self._stub = api_grpc.RingplanServiceStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)
        self._timeout = timeout

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()

    def __enter__(self) -> RingplanClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _deadline(self, timeout: float | None) -> float | None:
        return timeout if timeout is not None else self._timeout

    def _call(self, method: Callable[..., Any], request: Any, timeout: float | None = None) -> Any:
        """A unary call with this client's deadline; a refusal raises :class:`RingplanError`."""
        try:
            return method(request, timeout=self._deadline(timeout))
        except grpc.RpcError as error:
            raise error_from_rpc(error) from None

    def solve(
        self,
        instance: Instance | pb.Instance,
        *,
        time_limit: float | None = None,
        workers: int | None = None,
        preset: str | None = None,
        seed: int | None = None,
        hint: Plan | None = None,
        timeout: float | None = None,
    ) -> Result:
        """Plan ``instance`` on the server (see :func:`solver.solve` for the options)."""
        request = api.SolveRequest(
            instance=_message(instance), options=_options(time_limit, workers, preset, seed, hint)
        )
        return result_from_proto(self._call(self._stub.Solve, request, timeout).result)

    def solve_stream(
        self,
        instance: Instance | pb.Instance,
        *,
        time_limit: float | None = None,
        workers: int | None = None,
        preset: str | None = None,
        seed: int | None = None,
        hint: Plan | None = None,
        timeout: float | None = None,
    ) -> SolveStream:
        """Plan ``instance``, yielding :class:`Progress` for each improving plan, then the
        :class:`Result`. The returned stream can be cancelled."""
        request = api.SolveStreamRequest(
            instance=_message(instance), options=_options(time_limit, workers, preset, seed, hint)
        )
        return SolveStream(self._stub.SolveStream(request, timeout=self._deadline(timeout)))

    def validate(self, instance: Instance | pb.Instance) -> Validation:
        """Every problem of ``instance`` at once."""
        response = self._call(self._stub.Validate, api.ValidateRequest(instance=_message(instance)))
        return Validation(
            valid=response.valid,
            problems=tuple(FieldViolation(p.field, p.description) for p in response.problems),
            warnings=tuple(response.warnings),
        )

    def info(self) -> ServerInfo:
        """Versions, limits and the number of running solves."""
        response = self._call(self._stub.GetInfo, api.GetInfoRequest())
        return ServerInfo(
            server_version=response.server_version,
            solver_version=response.solver_version,
            limits=response.limits,
            active_solves=response.active_solves,
            presets=tuple(response.presets),
        )

    def submit_job(
        self,
        instance: Instance | pb.Instance,
        *,
        request_id: str = "",
        time_limit: float | None = None,
        workers: int | None = None,
        preset: str | None = None,
        seed: int | None = None,
        hint: Plan | None = None,
    ) -> tuple[JobView, bool]:
        """Queue a durable solve; the same ``request_id`` returns the first job.

        Returns the job and whether this call created it.
        """
        response = self._call(
            self._stub.SubmitJob,
            api.SubmitJobRequest(
                request_id=request_id,
                instance=_message(instance),
                options=_options(time_limit, workers, preset, seed, hint),
            ),
        )
        return JobView.from_proto(response.job), bool(response.created)

    def get_job(self, job_id: str) -> JobView:
        """A job with its progress and, once SUCCEEDED, its result."""
        return JobView.from_proto(
            self._call(self._stub.GetJob, api.GetJobRequest(job_id=job_id)).job
        )

    def job_report(self, job_id: str) -> str:
        """The HTML report of a job that finished with a plan."""
        request = api.GetJobReportRequest(job_id=job_id)
        return str(self._call(self._stub.GetJobReport, request).html)

    def cancel_job(self, job_id: str) -> JobView:
        """Cancel a queued or running job."""
        response = self._call(self._stub.CancelJob, api.CancelJobRequest(job_id=job_id))
        return JobView.from_proto(response.job)

    def list_jobs(
        self, state: JobState | None = None, page_size: int = 0, page_token: str = ""
    ) -> tuple[list[JobView], str]:
        """A page of jobs, newest first, and the token of the next page ("" on the last)."""
        request = api.ListJobsRequest(
            state=_invert_state(state), page_size=page_size, page_token=page_token
        )
        response = self._call(self._stub.ListJobs, request)
        return [JobView.from_proto(j) for j in response.jobs], response.next_page_token

    def watch_job(self, job_id: str, timeout: float | None = None) -> Iterator[JobView]:
        """The job now and after every change, until it is final."""
        call = self._stub.WatchJob(api.WatchJobRequest(job_id=job_id), timeout=timeout)
        try:
            for message in call:
                yield JobView.from_proto(message.job)
        except grpc.RpcError as error:
            raise error_from_rpc(error) from None

    def _whatif_parts(
        self,
        instance: Instance,
        plan: Plan,
        now: datetime | None,
        options: ReplanOptions | None,
    ) -> dict[str, Any]:
        o = options or ReplanOptions()
        return {
            "instance": instance_to_proto(instance),
            "plan": plan_to_proto(plan),
            "now": now.isoformat() if now is not None else "",
            "options": wpb.WhatIfOptions(
                time_limit_seconds=o.time_limit,
                workers=o.workers,
                preset=o.preset,
                seed=o.seed,
                reproducible=o.reproducible,
                deterministic_time_seconds=o.deterministic_time or 0.0,
            ),
        }

    def whatif(
        self,
        instance: Instance,
        plan: Plan,
        changes: Sequence[Change] = (),
        *,
        now: datetime | None = None,
        options: ReplanOptions | None = None,
        timeout: float | None = None,
    ) -> WhatIfResponse:
        """Re-plan ``plan`` (in force on ``instance``) under ``changes``, moving little."""
        request = api.WhatIfRequest(
            changes=[change_to_proto(c) for c in changes],
            **self._whatif_parts(instance, plan, now, options),
        )
        return answer_from_proto(self._call(self._stub.WhatIf, request, timeout).answer)

    def whatif_stream(
        self,
        instance: Instance,
        plan: Plan,
        changes: Sequence[Change] = (),
        *,
        now: datetime | None = None,
        options: ReplanOptions | None = None,
        timeout: float | None = None,
    ) -> Iterator[Progress | WhatIfResponse]:
        """As :meth:`whatif`, yielding :class:`Progress` for each improving plan first."""
        request = api.WhatIfStreamRequest(
            changes=[change_to_proto(c) for c in changes],
            **self._whatif_parts(instance, plan, now, options),
        )
        try:
            for message in self._stub.WhatIfStream(request, timeout=self._deadline(timeout)):
                if message.HasField("progress"):
                    yield progress_from_proto(message.progress)
                else:
                    yield answer_from_proto(message.answer)
        except grpc.RpcError as error:
            raise error_from_rpc(error) from None

    def whatif_batch(
        self,
        instance: Instance,
        plan: Plan,
        scenarios: Sequence[Scenario],
        *,
        now: datetime | None = None,
        options: ReplanOptions | None = None,
        max_parallel: int = 0,
        timeout: float | None = None,
    ) -> BatchAnswer:
        """Answer several scenarios side by side (as many at once as the server allows)."""
        request = api.WhatIfBatchRequest(
            scenarios=[
                wpb.Scenario(name=s.name, changes=[change_to_proto(c) for c in s.changes])
                for s in scenarios
            ],
            max_parallel=max_parallel,
            **self._whatif_parts(instance, plan, now, options),
        )
        response = self._call(self._stub.WhatIfBatch, request, timeout)
        return BatchAnswer(
            answers=tuple(answer_from_proto(a) for a in response.answers),
            table_text=response.table_text,
            parallel=response.parallel,
            workers_per_solve=response.workers_per_solve,
        )

    def health(self, service: str = SERVICE_NAME, timeout: float = 5.0) -> str:
        """The health status name (``SERVING``, ``NOT_SERVING``, ...)."""
        response = self._call(
            self._health.Check, health_pb2.HealthCheckRequest(service=service), timeout
        )
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))


class SolveStream:
    """Iterates over the progress messages and the final result of a ``SolveStream`` call."""

    def __init__(self, call: grpc.Future) -> None:
        self._call = call

    def __iter__(self) -> Iterator[Progress | Result]:
        try:
            for message in self._call:
                if message.HasField("progress"):
                    yield progress_from_proto(message.progress)
                else:
                    yield result_from_proto(message.result)
        except grpc.RpcError as error:
            raise error_from_rpc(error) from None

    def cancel(self) -> None:
        """Cancel the call; the server stops the solve."""
        self._call.cancel()

    def result(self, on_progress: Callable[[Progress], None] | None = None) -> Result:
        """Wait for the final result, handing each progress report to ``on_progress``."""
        for event in self:
            if isinstance(event, Result):
                return event
            if on_progress is not None:
                on_progress(event)
        raise RingplanError(grpc.StatusCode.INTERNAL, "the stream ended without a result")


def _invert_state(state: JobState | None) -> Any:
    if state is None:
        return jpb.JOB_STATE_UNSPECIFIED
    return JOB_STATE_VALUES[state]


def _message(instance: Instance | pb.Instance) -> pb.Instance:
    return instance if isinstance(instance, pb.Instance) else instance_to_proto(instance)
