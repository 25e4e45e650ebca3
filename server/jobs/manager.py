"""Durable asynchronous solves: submit, run when a solve slot is free, keep every change.

Jobs share the server's solve slots with direct ``Solve`` calls but wait for one instead of
being refused. Each job's request, state, last progress, incumbent plan and result live in the
:class:`~server.jobs.store.JobStore`; after a server stop (graceful or ``kill -9``) jobs that
were running go back to the queue and restart warm from their last incumbent plan, and queued
jobs simply run.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import grpc

from ringplan.v1 import instance_pb2 as pb
from ringplan.v1 import ringplan_service_pb2 as api
from server.admission import Admission, Overloaded, ShuttingDown, Ticket
from server.config import ServerConfig
from server.convert import plan_from_proto, plan_to_proto, progress_to_proto, result_to_proto
from server.errors import FieldViolation, ServiceError, invalid_argument
from server.jobs.state import JobState
from server.jobs.store import Expired, JobRecord, JobStore, Quota, QuotaExceeded
from server.jobs.tokens import PageTokens
from server.requests import read_job
from server.workers import SolveCancelled, SolveFailed, WorkerPool
from solver import Plan, Progress

logger = logging.getLogger(__name__)

IDLE_WAIT = 0.5
"""Seconds the dispatcher sleeps when there is no queued job or no free slot (it is woken
early by every change)."""

NOTES_KEPT = 4
"""A removed job's note (what lets GetJob say it expired) is kept this many retentions."""

MAX_PAGE = 500
DEFAULT_PAGE = 50


def _not_found(job_id: str) -> ServiceError:
    # The same answer for a job that does not exist and one of another tenant.
    return ServiceError(grpc.StatusCode.NOT_FOUND, f"no job '{job_id}'")


def _duration(seconds: float) -> str:
    """``7 days``, ``12 hours``, ``90 s``: a retention as a person reads it."""
    for unit, size in (("days", 86400), ("hours", 3600)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def _expired(note: Expired, retention: float) -> ServiceError:
    finished = datetime.fromtimestamp(note.finished_at, tz=UTC).isoformat(timespec="seconds")
    return ServiceError(
        grpc.StatusCode.NOT_FOUND,
        f"job '{note.id}' has expired: it finished at {finished} and finished jobs are kept "
        f"{_duration(retention)}",
    )


def _same_request(record: JobRecord, request: api.SubmitJobRequest) -> None:
    """Refuse a request id that is reused for a different request.

    Raises
    ------
    ServiceError
        ALREADY_EXISTS naming the job the id belongs to and what differs.
    """
    first = api.SubmitJobRequest.FromString(record.request)
    differ = [
        name for name in ("instance", "options") if getattr(first, name) != getattr(request, name)
    ]
    if differ:
        raise ServiceError(
            grpc.StatusCode.ALREADY_EXISTS,
            f"request id '{request.request_id}' belongs to job {record.id}, submitted with a "
            f"different {' and '.join(differ)}; send the same request to get that job back, or "
            "use a new request id for a new job",
            [FieldViolation("request_id", f"used by job {record.id} for another request")],
        )


class JobManager:
    """Runs and keeps jobs; one per server."""

    def __init__(
        self, store: JobStore, pool: WorkerPool, admission: Admission, config: ServerConfig
    ) -> None:
        self._store = store
        self._pool = pool
        self._admission = admission
        self._config = config
        self._tokens = PageTokens(store.key)
        self._changed = threading.Condition()
        self._version = 0
        self._running: dict[str, Ticket] = {}
        self._threads: set[threading.Thread] = set()
        self._stopping = threading.Event()
        self._cleaned_at = time.monotonic()
        self._dispatcher = threading.Thread(target=self._dispatch, name="jobs", daemon=True)

    # -- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Queue again what was running when the server last died (failing what crashes have
        interrupted ``max_job_attempts`` times), clean the store; start dispatching."""
        for record in self._store.requeue_interrupted(self._config.max_job_attempts):
            logger.info("job %s was interrupted; queued again", record.id)
        self.clean_up()
        self._dispatcher.start()

    def clean_up(self) -> None:
        """Remove the jobs that finished longer than ``job_retention`` ago."""
        retention = self._config.job_retention
        self._cleaned_at = time.monotonic()
        if retention <= 0:
            return
        now = time.time()
        removed = self._store.expire(now - retention, now - NOTES_KEPT * retention)
        if removed:
            logger.info("removed %d jobs finished over %g s ago", len(removed), retention)
            self._bump()

    def stop(self, timeout: float = 20.0) -> None:
        """Stop dispatching and interrupt running jobs: each goes back to the queue (an
        orderly stop is not counted against ``max_job_attempts``) and runs, warm-started from
        its last plan, when a server opens the store next. A job still running after
        ``timeout`` stays RUNNING and counts as interrupted by a crash then (a job stops within
        a second on a quiet machine; 5 s were not always enough on a loaded one, and an orderly
        restart was counted as a crash)."""
        self._stopping.set()
        with self._changed:
            tickets = list(self._running.values())
            self._changed.notify_all()
        for ticket in tickets:
            ticket.cancel.set()
        if self._dispatcher.is_alive():
            self._dispatcher.join(timeout)
        for thread in list(self._threads):
            thread.join(timeout)

    def _bump(self) -> None:
        with self._changed:
            self._version += 1
            self._changed.notify_all()

    # -- calls ---------------------------------------------------------------------------

    def submit(self, tenant: str, request: api.SubmitJobRequest) -> tuple[JobRecord, bool]:
        """Validate and queue a job (or return the tenant's job with the same request id)."""
        violations = []
        if len(request.request_id) > 200:
            violations.append(FieldViolation("request_id", "at most 200 characters"))
        try:
            read_job(request.instance, request.options, None, self._config)
        except ServiceError as error:
            if error.code is not grpc.StatusCode.INVALID_ARGUMENT:
                raise
            violations += error.violations
        if violations:
            raise invalid_argument(violations)
        quota = Quota(self._config.max_jobs_per_tenant, self._config.max_job_bytes_per_tenant)
        try:
            record, created = self._store.submit(
                tenant, request.request_id or None, request.SerializeToString(), quota
            )
        except QuotaExceeded as error:
            raise ServiceError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"job store quota: {error}; finished jobs are removed "
                f"{_duration(self._config.job_retention)} after they end",
            ) from None
        if created:
            self._bump()
        else:
            _same_request(record, request)
        return record, created

    def get(self, tenant: str, job_id: str) -> JobRecord:
        """A job of ``tenant``; NOT_FOUND for a job of another tenant too, and NOT_FOUND
        saying so for one of the tenant's that has expired."""
        record = self._store.get(job_id) if job_id else None
        if record is None or record.tenant != tenant:
            note = self._store.expired(job_id) if job_id and record is None else None
            if note is not None and note.tenant == tenant:
                raise _expired(note, self._config.job_retention)
            raise _not_found(job_id)
        return record

    def cancel(self, tenant: str, job_id: str) -> JobRecord:
        """Cancel a queued job at once, a running one within a quarter second."""
        self.get(tenant, job_id)
        with self._changed:
            record = self._store.request_cancel(job_id)
            ticket = self._running.get(job_id)
        assert record is not None
        if ticket is not None:
            ticket.cancel.set()
        self._bump()
        return record

    def page(
        self, tenant: str, state: JobState | None, page_size: int, page_token: str
    ) -> tuple[list[JobRecord], str]:
        """A page of the tenant's jobs, newest first, and the token of the next page."""
        violations = []
        if page_size < 0:
            violations.append(FieldViolation("page_size", "must not be negative"))
        before = None
        if page_token:
            before = self._tokens.open(tenant, page_token)
            if before is None:
                violations.append(
                    FieldViolation("page_token", "not a page token ListJobs gave this caller")
                )
        if violations:
            raise invalid_argument(violations)
        limit = min(page_size or DEFAULT_PAGE, MAX_PAGE)
        records = self._store.page(tenant, state, limit + 1, before)
        more = len(records) > limit
        records = records[:limit]
        return records, self._tokens.seal(tenant, records[-1].seq) if more else ""

    def watch(
        self, tenant: str, job_id: str, gone: threading.Event | None = None
    ) -> Iterator[JobRecord]:
        """The job now and after every change, until it reaches a final state.

        ``gone`` is set when the watcher has left (cancel, deadline): the watch then ends at
        once instead of holding its thread until the job next changes.
        """
        gone = gone or threading.Event()
        last: JobRecord | None = None
        while not gone.is_set():
            with self._changed:
                version = self._version
            record = self.get(tenant, job_id)
            if record != last:
                yield record
                last = record
            if record.state.final:
                return
            if self._stopping.is_set():
                raise ServiceError(grpc.StatusCode.UNAVAILABLE, "the server is shutting down")
            self._wait(version, gone)

    # -- running -------------------------------------------------------------------------

    def _dispatch(self) -> None:
        while not self._stopping.is_set():
            try:
                if time.monotonic() - self._cleaned_at >= self._config.job_cleanup_interval:
                    self.clean_up()
                if not self._dispatch_one():
                    self._wait()
            except ShuttingDown:
                return
            except Exception:  # a store error must not end dispatching for good
                logger.exception("job dispatch failed; trying again")
                self._wait()

    def _dispatch_one(self) -> bool:
        """Start the oldest queued job if a slot is free; ``False`` when there was nothing to
        start."""
        # Look before taking a slot: holding one while looking would refuse direct solves.
        if not self._store.has_queued():
            return False
        try:
            ticket = self._admission.enter()
        except Overloaded:
            return False
        try:
            # Claimed and registered under one lock, so that a cancel or a stop in between
            # always finds the job's ticket.
            with self._changed:
                record = self._store.claim_next()
                if record is not None:
                    self._running[record.id] = ticket
                    self._version += 1
                    self._changed.notify_all()
        except BaseException:
            self._admission.leave(ticket)
            raise
        if record is None:
            self._admission.leave(ticket)
            return False
        thread = threading.Thread(
            target=self._run, args=(record, ticket), name=f"job-{record.id[:8]}"
        )
        self._threads.add(thread)
        thread.start()
        return True

    def _wait(self, version: int | None = None, gone: threading.Event | None = None) -> None:
        """Sleep until the next change after ``version`` (default: now), a watcher leaving,
        or a short while."""
        with self._changed:
            if version is None:
                version = self._version
            self._changed.wait_for(
                lambda: (
                    self._version != version
                    or self._stopping.is_set()
                    or (gone is not None and gone.is_set())
                ),
                IDLE_WAIT,
            )

    def leave_watch(self, gone: threading.Event) -> None:
        """A watcher has gone: wake its watch so that it ends now."""
        gone.set()
        self._bump()

    def _run(self, record: JobRecord, ticket: Ticket) -> None:
        job_id = record.id
        try:
            self._solve(record, ticket)
        except SolveCancelled:
            if self._stopping.is_set():  # the server stops: not the owner, not a crash
                self._store.requeue_stopped(job_id)
            else:
                self._store.finish(job_id, JobState.CANCELLED, "cancelled by its owner")
        except SolveFailed as error:
            self._store.finish(job_id, JobState.FAILED, str(error))
        except ServiceError as error:
            self._store.finish(job_id, JobState.FAILED, error.message)
        except Exception:
            reference = uuid.uuid4().hex[:12]
            logger.exception("job %s failed (reference %s)", job_id, reference)
            self._store.finish(job_id, JobState.FAILED, f"internal error (reference {reference})")
        finally:
            self._admission.leave(ticket)
            with self._changed:
                self._running.pop(job_id, None)
                self._version += 1
                self._changed.notify_all()
            self._threads.discard(threading.current_thread())

    def _solve(self, record: JobRecord, ticket: Ticket) -> None:
        request = api.SubmitJobRequest.FromString(record.request)
        job = read_job(request.instance, request.options, None, self._config)
        if record.incumbent is not None:
            job = replace(job, hint=plan_from_proto(pb.Plan.FromString(record.incumbent)))

        def on_progress(progress: Progress) -> None:
            self._store.record_progress(
                record.id, progress=progress_to_proto(progress).SerializeToString()
            )
            self._bump()

        def on_incumbent(plan: Plan) -> None:
            self._store.record_progress(
                record.id, incumbent=plan_to_proto(plan).SerializeToString()
            )

        result = self._pool.run(job, on_progress, ticket, on_incumbent)
        current = self._store.get(record.id)
        if ticket.cancel.is_set() or (current is not None and current.cancel_requested):
            raise SolveCancelled
        self._store.finish(
            record.id, JobState.SUCCEEDED, result=result_to_proto(result).SerializeToString()
        )
