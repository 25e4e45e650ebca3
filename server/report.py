"""The HTML report of a finished job, from the request and result the job store keeps."""

from __future__ import annotations

import grpc

from ringplan.report import render_report
from ringplan.v1 import result_pb2 as rpb
from ringplan.v1 import ringplan_service_pb2 as api
from server.convert import instance_from_proto, result_from_proto
from server.errors import ServiceError
from server.jobs.store import JobRecord

__all__ = ["job_report"]


def job_report(record: JobRecord) -> str:
    """The report of a job that finished with a plan.

    Raises
    ------
    ServiceError
        FAILED_PRECONDITION while the job has no result, or when its result holds no plan.
    """
    if record.result is None:
        raise ServiceError(
            grpc.StatusCode.FAILED_PRECONDITION,
            f"job '{record.id}' is {record.state.value}: its report is ready once it has "
            "finished with a plan",
        )
    result = result_from_proto(rpb.Result.FromString(record.result))
    if not result.status.has_plan:
        raise ServiceError(
            grpc.StatusCode.FAILED_PRECONDITION,
            f"job '{record.id}' finished without a plan ({result.status.value}): no report",
        )
    request = api.SubmitJobRequest.FromString(record.request)
    return render_report(instance_from_proto(request.instance), result)
