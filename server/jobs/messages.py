"""A stored job as its message."""

from __future__ import annotations

from datetime import UTC, datetime

from ringplan.v1 import jobs_pb2 as jpb
from server.jobs.state import JOB_STATE_VALUES
from server.jobs.store import JobRecord


def _timestamp(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="milliseconds")


def job_to_proto(record: JobRecord, *, with_result: bool) -> jpb.Job:
    """A stored job as its message; the result only when asked for."""
    message = jpb.Job(
        id=record.id,
        request_id=record.request_id or "",
        state=JOB_STATE_VALUES[record.state],
        reason=record.reason,
        created_at=_timestamp(record.created_at),
        started_at=_timestamp(record.started_at),
        finished_at=_timestamp(record.finished_at),
        updated_at=_timestamp(record.updated_at),
        attempts=record.attempts,
        crashes=record.crashes,
    )
    if record.progress is not None:
        message.progress.ParseFromString(record.progress)
    if with_result and record.result is not None:
        message.result.ParseFromString(record.result)
    return message
