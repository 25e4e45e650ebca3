"""What an operator scrapes: Prometheus metrics of one server, served over HTTP.

Each server has a registry of its own (several servers may run in one process, in tests). The
figures that the server already knows (jobs by state, queue depth, running solves, open
streams) are read when scraped; calls and solve times are counted as they happen.

========================================  =========  ==========================================
metric                                    type       what it counts
========================================  =========  ==========================================
``ringplan_calls_total{method,code}``     counter    calls answered, by method and status code
``ringplan_rejections_total{method,code}``  counter  calls refused (bad input, overload, quota,
                                                     stream limits, authentication)
``ringplan_solve_seconds{outcome}``       histogram  seconds each solve ran, by outcome
``ringplan_jobs{state}``                  gauge      jobs in the store, by state
``ringplan_job_queue_depth``              gauge      jobs waiting for a solve slot
``ringplan_solves_running``               gauge      solves running now (calls and jobs)
``ringplan_solve_slots``                  gauge      solves the server runs at once at most
``ringplan_streams_open``                 gauge      server streams open now
========================================  =========  ==========================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

REJECTED = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.FAILED_PRECONDITION,
}
"""Status codes that mean the server refused a call (as opposed to failing it)."""

SOLVE_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
"""Upper bounds of the solve-time histogram, in seconds."""


@dataclass(frozen=True)
class Figures:
    """Where the server's own figures are read when scraped."""

    jobs_by_state: Callable[[], dict[str, int]]
    running: Callable[[], int]
    slots: int
    streams: Callable[[], int]


class _Gauges(Collector):
    """Figures read from the server when scraped."""

    def __init__(self, figures: Figures) -> None:
        self._figures = figures

    def collect(self) -> Iterator[Metric]:
        figures = self._figures
        counts = figures.jobs_by_state()
        jobs = GaugeMetricFamily("ringplan_jobs", "Jobs in the store, by state", labels=["state"])
        for state, count in sorted(counts.items()):
            jobs.add_metric([state], count)
        yield jobs
        yield GaugeMetricFamily(
            "ringplan_job_queue_depth",
            "Jobs waiting for a solve slot",
            value=counts.get("queued", 0),
        )
        yield GaugeMetricFamily(
            "ringplan_solves_running", "Solves running now", value=figures.running()
        )
        yield GaugeMetricFamily(
            "ringplan_solve_slots", "Solves the server runs at once at most", value=figures.slots
        )
        yield GaugeMetricFamily(
            "ringplan_streams_open", "Server streams open now", value=figures.streams()
        )


class Metrics:
    """The metrics of one server."""

    def __init__(self, figures: Figures) -> None:
        self.registry = CollectorRegistry()
        self._calls = Counter(
            "ringplan_calls",
            "Calls answered, by method and status code",
            ["method", "code"],
            registry=self.registry,
        )
        self._rejections = Counter(
            "ringplan_rejections",
            "Calls refused (bad input, overload, quota, stream limits, authentication)",
            ["method", "code"],
            registry=self.registry,
        )
        self._solve_seconds = Histogram(
            "ringplan_solve_seconds",
            "Seconds each solve ran, by outcome",
            ["outcome"],
            buckets=SOLVE_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_Gauges(figures))
        self._http: WSGIServer | None = None

    def call(self, method: str, code: grpc.StatusCode) -> None:
        """Count a call that ended with ``code``."""
        self._calls.labels(method, code.name).inc()
        if code in REJECTED:
            self._rejections.labels(method, code.name).inc()

    def solve(self, seconds: float, outcome: str) -> None:
        """Record a solve that ran ``seconds`` and ended with ``outcome``."""
        self._solve_seconds.labels(outcome).observe(seconds)

    def serve(self, host: str, port: int) -> int:
        """Serve ``/metrics`` over HTTP on ``host:port`` (0: a free port); the port bound."""
        self._http, _ = start_http_server(port, addr=host, registry=self.registry)
        return int(self._http.server_port)

    def close(self) -> None:
        """Stop serving metrics."""
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
