"""The RPC handlers: they translate, admit, and call the solver; the planning is in ``solver``."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import version
from typing import TypeVar, cast

import grpc

from ringplan.v1 import ringplan_service_pb2 as api
from ringplan.v1 import ringplan_service_pb2_grpc as api_grpc
from server.admission import Admission, Overloaded, ShuttingDown, Ticket
from server.config import ServerConfig
from server.convert import (
    answer_to_proto,
    comparison_to_proto,
    progress_to_proto,
    result_to_proto,
)
from server.errors import FieldViolation, ServiceError, edge, invalid_argument
from server.jobs.manager import JobManager
from server.jobs.messages import job_to_proto
from server.jobs.state import JOB_STATES
from server.report import job_report
from server.requests import read_instance, read_job
from server.streams import StreamBudget
from server.whatif import read_batch, read_whatif
from server.workers import SolveCancelled, SolveFailed, Task, WorkerPool
from solver import Progress
from solver.presets import PRESETS
from solver.validation import instance_warnings

T = TypeVar("T")

TenantOf = Callable[[grpc.ServicerContext], str]
"""Who is calling: the tenant a call's credentials belong to."""


def single_tenant(context: grpc.ServicerContext) -> str:
    """Without authentication every caller is the one tenant ``default``."""
    return "default"


logger = logging.getLogger(__name__)


def _cancel_on_termination(context: grpc.ServicerContext, ticket: Ticket) -> None:
    """Cancel the solve when the call ends early (client cancel, deadline, shutdown)."""
    if not context.add_callback(ticket.cancel.set):
        ticket.cancel.set()  # the call had already ended


class RingplanServicer(api_grpc.RingplanServiceServicer):
    """Adapts the API to the solver; admission keeps solves within the server's limit."""

    def __init__(
        self,
        config: ServerConfig,
        admission: Admission,
        pool: WorkerPool,
        jobs: JobManager,
        streams: StreamBudget,
        tenant_of: TenantOf = single_tenant,
    ) -> None:
        self._config = config
        self._admission = admission
        self._pool = pool
        self._jobs = jobs
        self._streams = streams
        self._tenant_of = tenant_of

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

    def _prepared(self, read: Callable[[], T]) -> tuple[T, Ticket]:
        """Admit a solve, then read its request; the slot is given back if reading fails."""
        ticket = self._admit()
        try:
            return read(), ticket
        except BaseException:
            self._admission.leave(ticket)
            raise

    def _run(
        self,
        task: Task[T],
        tickets: Sequence[Ticket],
        progress: queue.SimpleQueue[object] | None,
    ) -> T:
        """Run ``task`` in a worker process under the first ticket; give every slot back."""
        try:
            return self._pool.run(task, None if progress is None else progress.put, tickets[0])
        except SolveFailed as error:
            raise ServiceError(grpc.StatusCode.INTERNAL, str(error)) from None
        except SolveCancelled:
            raise ServiceError(grpc.StatusCode.CANCELLED, "the call ended") from None
        finally:
            for ticket in tickets:
                self._admission.leave(ticket)

    def _stream(self, task: Task[T], ticket: Ticket) -> Iterator[Progress | T]:
        """Each strictly improving progress report, then the task's outcome."""
        events: queue.SimpleQueue[object] = queue.SimpleQueue()

        def run() -> None:
            try:
                events.put(("done", self._run(task, [ticket], events)))
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
                    yield event
            elif isinstance(event, BaseException):
                raise event
            else:
                yield cast(tuple[str, T], event)[1]
                return

    @edge
    def Solve(self, request: api.SolveRequest, context: grpc.ServicerContext) -> api.SolveResponse:
        job, ticket = self._prepared(
            lambda: read_job(
                request.instance, request.options, context.time_remaining(), self._config
            )
        )
        _cancel_on_termination(context, ticket)
        return api.SolveResponse(result=result_to_proto(self._run(job, [ticket], None)))

    @edge
    def SolveStream(
        self, request: api.SolveStreamRequest, context: grpc.ServicerContext
    ) -> Iterator[api.SolveStreamResponse]:
        with self._streams.held(self._tenant_of(context)):
            job, ticket = self._prepared(
                lambda: read_job(
                    request.instance, request.options, context.time_remaining(), self._config
                )
            )
            _cancel_on_termination(context, ticket)
            for event in self._stream(job, ticket):
                if isinstance(event, Progress):
                    yield api.SolveStreamResponse(progress=progress_to_proto(event))
                else:
                    yield api.SolveStreamResponse(result=result_to_proto(event))

    # -- what-if -------------------------------------------------------------------------

    @edge
    def WhatIf(
        self, request: api.WhatIfRequest, context: grpc.ServicerContext
    ) -> api.WhatIfResponse:
        task, ticket = self._prepared(
            lambda: read_whatif(request, context.time_remaining(), self._config)
        )
        _cancel_on_termination(context, ticket)
        return api.WhatIfResponse(answer=answer_to_proto(self._run(task, [ticket], None)))

    @edge
    def WhatIfStream(
        self, request: api.WhatIfStreamRequest, context: grpc.ServicerContext
    ) -> Iterator[api.WhatIfStreamResponse]:
        with self._streams.held(self._tenant_of(context)):
            task, ticket = self._prepared(
                lambda: read_whatif(request, context.time_remaining(), self._config)
            )
            _cancel_on_termination(context, ticket)
            for event in self._stream(task, ticket):
                if isinstance(event, Progress):
                    yield api.WhatIfStreamResponse(progress=progress_to_proto(event))
                else:
                    yield api.WhatIfStreamResponse(answer=answer_to_proto(event))

    @edge
    def WhatIfBatch(
        self, request: api.WhatIfBatchRequest, context: grpc.ServicerContext
    ) -> api.WhatIfBatchResponse:
        # As many solve slots as the batch can use and the server has free, at least one.
        wanted = min(request.max_parallel or len(request.scenarios), len(request.scenarios))
        tickets = [self._admit()]
        while len(tickets) < max(1, wanted):
            try:
                tickets.append(self._admission.enter())
            except (Overloaded, ShuttingDown):
                break
        try:
            task = read_batch(request, context.time_remaining(), self._config, len(tickets))
        except BaseException:
            for ticket in tickets:
                self._admission.leave(ticket)
            raise
        for ticket in tickets:
            _cancel_on_termination(context, ticket)
        response = self._run(task, tickets, None)
        return api.WhatIfBatchResponse(
            answers=[answer_to_proto(r) for r in response.scenarios],
            table=[comparison_to_proto(row) for row in response.table],
            table_text=response.table_text(),
            parallel=task.request.max_parallel,
            workers_per_solve=response.workers_per_solve,
        )

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

    # -- jobs ----------------------------------------------------------------------------

    @edge
    def SubmitJob(
        self, request: api.SubmitJobRequest, context: grpc.ServicerContext
    ) -> api.SubmitJobResponse:
        record, created = self._jobs.submit(self._tenant_of(context), request)
        return api.SubmitJobResponse(job=job_to_proto(record, with_result=True), created=created)

    @edge
    def GetJob(
        self, request: api.GetJobRequest, context: grpc.ServicerContext
    ) -> api.GetJobResponse:
        record = self._jobs.get(self._tenant_of(context), request.job_id)
        return api.GetJobResponse(job=job_to_proto(record, with_result=True))

    @edge
    def GetJobReport(
        self, request: api.GetJobReportRequest, context: grpc.ServicerContext
    ) -> api.GetJobReportResponse:
        record = self._jobs.get(self._tenant_of(context), request.job_id)
        return api.GetJobReportResponse(html=job_report(record))

    @edge
    def WatchJob(
        self, request: api.WatchJobRequest, context: grpc.ServicerContext
    ) -> Iterator[api.WatchJobResponse]:
        tenant = self._tenant_of(context)
        with self._streams.held(tenant):
            gone = threading.Event()
            if not context.add_callback(lambda: self._jobs.leave_watch(gone)):
                return  # the caller has already gone
            for record in self._jobs.watch(tenant, request.job_id, gone):
                yield api.WatchJobResponse(job=job_to_proto(record, with_result=True))

    @edge
    def CancelJob(
        self, request: api.CancelJobRequest, context: grpc.ServicerContext
    ) -> api.CancelJobResponse:
        record = self._jobs.cancel(self._tenant_of(context), request.job_id)
        return api.CancelJobResponse(job=job_to_proto(record, with_result=True))

    @edge
    def ListJobs(
        self, request: api.ListJobsRequest, context: grpc.ServicerContext
    ) -> api.ListJobsResponse:
        state = None
        if request.state:
            if request.state not in JOB_STATES:
                raise invalid_argument(
                    [FieldViolation("state", f"unknown JobState value {request.state}")]
                )
            state = JOB_STATES[request.state]
        records, token = self._jobs.page(
            self._tenant_of(context), state, request.page_size, request.page_token
        )
        return api.ListJobsResponse(
            jobs=[job_to_proto(r, with_result=False) for r in records], next_page_token=token
        )
