"""Names the service and its clients share."""

from __future__ import annotations

from ringplan.v1 import ringplan_service_pb2 as api

SERVICE_NAME: str = api.DESCRIPTOR.services_by_name["RingplanService"].full_name
"""The gRPC service's full name (``ringplan.v1.RingplanService``), also its health name."""
