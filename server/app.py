"""Building, running and stopping the gRPC server."""

from __future__ import annotations

import logging
import signal
import threading
from concurrent import futures
from types import FrameType

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ringplan.v1 import ringplan_service_pb2_grpc as api_grpc
from server.admission import Admission
from server.auth import tenant_of
from server.calls import CallLog
from server.config import ServerConfig
from server.decoding import DecodeGuard
from server.jobs.manager import JobManager
from server.jobs.store import JobStore
from server.metrics import Figures, Metrics
from server.names import SERVICE_NAME
from server.parts_cluster import PartsCluster
from server.security import server_security
from server.service import RingplanServicer
from server.streams import StreamBudget
from server.workers import WorkerLimits, WorkerPool

logger = logging.getLogger(__name__)

"""``ringplan.v1.RingplanService``."""

SPARE_THREADS = 16
"""Handler threads beyond the solve limit, so that rejections, health, info and validation
calls are answered at once while every solve slot is busy."""


def channel_options(config: ServerConfig) -> list[tuple[str, int]]:
    """Message size limits shared by the server and the client."""
    return [
        ("grpc.max_receive_message_length", config.max_message_bytes),
        ("grpc.max_send_message_length", config.max_message_bytes),
    ]


class RingplanServer:
    """A running ringplan service: the gRPC server, its health and its solve admission."""

    def __init__(self, config: ServerConfig) -> None:
        problems = config.problems()
        if problems:
            raise ValueError("; ".join(problems))
        self.config = config
        security = server_security(config)
        self.admission = Admission(config.max_concurrent_solves)
        self.health = health.HealthServicer()
        self.store = JobStore(config.jobs_db)  # first: a store in use stops here, cheaply
        self.streams = StreamBudget(
            config.max_streams, config.max_streams_per_tenant, config.retry_after
        )
        self.metrics = Metrics(
            Figures(
                jobs_by_state=self.store.counts,
                running=lambda: self.admission.active,
                slots=config.max_concurrent_solves,
                streams=lambda: self.streams.open,
            )
        )
        self.parts_cluster = PartsCluster(
            config.dask_scheduler, config.dask_local, config.dask_workers, config.worker_nice
        )
        self.pool = WorkerPool(
            config.max_concurrent_solves,
            WorkerLimits(memory_mb=config.worker_memory_mb or None, nice=config.worker_nice),
            config.overrun_grace,
            observe=self.metrics.solve,
            prepare=self.parts_cluster.prepare,
        )
        self._server = grpc.server(
            futures.ThreadPoolExecutor(
                # Streams have threads of their own (see server.streams).
                max_workers=config.max_concurrent_solves + SPARE_THREADS + config.max_streams,
                thread_name_prefix="rpc",
            ),
            # No second server may silently share the port.
            options=[*channel_options(config), ("grpc.so_reuseport", 0)],
            # Outermost first: the caller's tenant, then the call log, then the decoding.
            interceptors=[*security.interceptors, CallLog(self.metrics), DecodeGuard()],
        )
        self.jobs = JobManager(self.store, self.pool, self.admission, config)
        api_grpc.add_RingplanServiceServicer_to_server(
            RingplanServicer(
                config, self.admission, self.pool, self.jobs, self.streams, tenant_of=tenant_of
            ),
            self._server,
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self._server)
        names = [SERVICE_NAME, health.SERVICE_NAME]
        # Reflection would list the service to anyone: off whenever callers must authenticate.
        if config.reflection and not security.auth:
            names.append(reflection.SERVICE_NAME)
            reflection.enable_server_reflection(names, self._server)
        try:
            self.port = security.add_port(self._server, config.address)
        except RuntimeError:
            self.port = 0
        if self.port == 0:
            self.pool.close()
            self.store.close()
            raise OSError(f"cannot listen on {config.address}")
        self.metrics_port: int | None = None
        """Port of the metrics endpoint, once started (``None`` when metrics are off)."""
        self._stopped = threading.Event()

    @property
    def target(self) -> str:
        """Address a client on this machine dials."""
        host = self.config.host if self.config.host not in ("0.0.0.0", "[::]") else "127.0.0.1"
        return f"{host}:{self.port}"

    def start(self) -> RingplanServer:
        """Start serving; health reports SERVING."""
        self._server.start()
        if self.config.metrics:
            self.metrics_port = self.metrics.serve(
                self.config.metrics_host, self.config.metrics_port
            )
            logger.info(
                "metrics on http://%s:%d/metrics", self.config.metrics_host, self.metrics_port
            )
        self.jobs.start()
        for name in ("", SERVICE_NAME):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        logger.info("serving on %s", self.target)
        return self

    def shutdown(self, grace: float | None = None) -> None:
        """Stop gracefully.

        Health turns NOT_SERVING and new solves are refused at once; after ``drain`` seconds the
        server stops taking calls. In-flight solves may finish within ``grace`` seconds; shortly
        before it ends they are asked to stop and return their best plan, and whatever is still
        running when it ends is cancelled.
        """
        grace = self.config.grace if grace is None else grace
        self.admission.close()
        self.health.enter_graceful_shutdown()
        # Let health checkers see NOT_SERVING while calls are still answered.
        self._stopped.wait(self.config.drain)
        # Running jobs are interrupted and resume, warm, when the store is opened next.
        self.jobs.stop()
        margin = min(1.0, grace / 2)
        stopped = self._server.stop(grace)
        if not self.admission.wait_idle(max(0.0, grace - margin)):
            self.admission.stop_all()
        stopped.wait()
        self.pool.close()
        self.parts_cluster.close()
        self.store.close()
        self.metrics.close()
        self._stopped.set()
        logger.info("stopped")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until :meth:`shutdown` has finished."""
        return self._stopped.wait(timeout)

    def __enter__(self) -> RingplanServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if not self._stopped.is_set():
            self.shutdown(grace=1.0)


def create_server(config: ServerConfig) -> RingplanServer:
    """A server bound to ``config.address`` (port 0 picks a free port), not yet started."""
    return RingplanServer(config)


SIGNAL_POLL = 0.2
"""Seconds between the serving main thread's looks for a stop signal."""


def serve(config: ServerConfig, ready: threading.Event | None = None) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    server = create_server(config).start()
    print(f"ringplan serving on {server.target}", flush=True)
    if ready is not None:
        ready.set()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("signal %d: shutting down", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # Python runs a signal's handler in the main thread, but the kernel may hand the signal
    # to any thread (gRPC's, say); a wait without a timeout then never wakes to run it, and
    # the server ignored that SIGTERM. Waking now and then runs the handler.
    while not stop.wait(SIGNAL_POLL):
        pass
    server.shutdown()
    print("ringplan stopped", flush=True)
