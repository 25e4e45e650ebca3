"""Where a job is in its life, and its value on the wire: what the client and the service
share without the job store."""

from __future__ import annotations

from enum import StrEnum

from ringplan.v1 import jobs_pb2 as jpb


class JobState(StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        """Whether the job will not change any more."""
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


JOB_STATES = {
    jpb.JOB_STATE_QUEUED: JobState.QUEUED,
    jpb.JOB_STATE_RUNNING: JobState.RUNNING,
    jpb.JOB_STATE_SUCCEEDED: JobState.SUCCEEDED,
    jpb.JOB_STATE_FAILED: JobState.FAILED,
    jpb.JOB_STATE_CANCELLED: JobState.CANCELLED,
}
"""Wire value -> job state."""

JOB_STATE_VALUES = {state: value for value, state in JOB_STATES.items()}
"""Job state -> wire value."""
