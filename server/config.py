"""Server settings: embedded defaults, overridden by ``RINGPLAN_*`` environment variables and
then by command-line flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "RINGPLAN_"


def default_jobs_db() -> str:
    """``$XDG_STATE_HOME/ringplan/jobs.sqlite3`` (``~/.local/state`` when unset)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return str(Path(state) / "ringplan" / "jobs.sqlite3")


@dataclass(frozen=True)
class ServerConfig:
    """Everything that shapes how the service runs.

    Each field can be set by the environment variable ``RINGPLAN_<FIELD>`` (upper case), e.g.
    ``RINGPLAN_PORT=50051`` or ``RINGPLAN_REFLECTION=false``.
    """

    host: str = "127.0.0.1"
    """Address to listen on."""
    port: int = 50051
    """Port to listen on; 0 picks a free one."""
    max_concurrent_solves: int = os.cpu_count() or 1
    """Most solves running at once; more are rejected at once with RESOURCE_EXHAUSTED."""
    max_time_limit: float = 600.0
    """Largest time limit granted to one solve, in seconds."""
    default_time_limit: float = 30.0
    """Time limit when a request leaves it unset, in seconds."""
    deadline_margin: float = 1.0
    """Seconds kept free before a call's deadline to send the plan back."""
    default_workers: int = 2
    """CP-SAT workers when a request leaves it unset."""
    max_workers: int = os.cpu_count() or 1
    """Most CP-SAT workers one solve may use."""
    max_message_bytes: int = 256 * 1024 * 1024
    """Largest request or response message."""
    max_units: int = 20_000
    """Most units in one instance."""
    max_venues: int = 5_000
    """Most venues in one instance."""
    max_shifts: int = 200
    """Most shifts in one instance."""
    max_candidates: int = 5_000_000
    """Most candidate assignments (unit x ring x shift, after pruning) in one model."""
    reflection: bool = True
    """Serve gRPC server reflection."""
    grace: float = 10.0
    """Seconds in-flight calls get to finish on shutdown before they are cancelled."""
    drain: float = 1.0
    """Seconds health reports NOT_SERVING before the server stops taking calls."""
    worker_memory_mb: int = 8192
    """Address-space cap of each solver process, in MiB (0: none)."""
    worker_nice: int = 10
    """CPU niceness of solver processes, so answering calls beats solving."""
    overrun_grace: float = 10.0
    """Seconds a solve may overrun its time limit before its process is killed."""
    max_streams: int = 512
    """Most server streams (job watches, streamed solves) open at once; each holds a thread of
    its own, beyond those that answer unary calls. More are refused with RESOURCE_EXHAUSTED."""
    max_streams_per_tenant: int = 256
    """Most server streams one tenant may hold open at once."""
    metrics: bool = False
    """Serve Prometheus metrics over HTTP at ``http://<metrics_host>:<metrics_port>/metrics``."""
    metrics_host: str = "127.0.0.1"
    """Address the metrics endpoint listens on."""
    metrics_port: int = 9464
    """Port of the metrics endpoint; 0 picks a free one."""
    jobs_db: str = field(default_factory=default_jobs_db)
    """SQLite file of the job store (created if missing)."""
    job_retention: float = 7 * 24 * 3600.0
    """Seconds a finished job (request, plans, result) is kept after it ends; then it is
    removed and asking for it answers NOT_FOUND saying it expired. 0 keeps jobs for ever."""
    job_cleanup_interval: float = 60.0
    """Seconds between two clean-ups of the job store (expired jobs removed, space freed)."""
    max_jobs_per_tenant: int = 1000
    """Most jobs one tenant may have stored, in any state; more are RESOURCE_EXHAUSTED."""
    max_job_bytes_per_tenant: int = 512 * 1024 * 1024
    """Most bytes of requests, progress, plans and results one tenant may have stored."""
    max_job_attempts: int = 3
    """Crashes a job survives: one whose attempts a crash (the server dying under it) has
    interrupted this many times fails; an orderly server stop queues it again uncounted."""
    retry_after: float = 1.0
    """Back-off suggested to a rejected caller (google.rpc.RetryInfo), in seconds."""
    dask_scheduler: str = ""
    """Address of a Dask scheduler (``tcp://host:8786``) the parts of instances planned in parts
    (national size, or with a national reserve) go to; empty: see ``dask_local``."""
    dask_local: bool = True
    """Without ``dask_scheduler``: start a Dask ``LocalCluster`` in the server at the first job
    planned in parts and send every such job's parts to it (stopped at shutdown); false: their
    parts run one by one in the solver process."""
    dask_workers: int = 0
    """Worker processes of that cluster (single-threaded, niced by ``worker_nice``); 0: one
    per core."""
    # Security (see server/security.py and server/auth.py).
    tls_cert: str = ""
    """PEM certificate chain of the server; with ``tls_key`` the server speaks TLS only."""
    tls_key: str = ""
    """PEM private key of ``tls_cert``."""
    tls_client_ca: str = ""
    """PEM CA certificates; when set, clients must present a certificate they sign (mTLS)."""
    tokens_file: str = ""
    """File of bearer tokens and their tenants; when set, every call but health needs a token
    and reflection is off."""

    @property
    def address(self) -> str:
        """``host:port`` to bind."""
        return f"{self.host}:{self.port}"

    def with_overrides(self, values: Mapping[str, Any]) -> ServerConfig:
        """A copy with the given fields replaced; ``None`` values are ignored."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerConfig:
        """Defaults overridden by ``RINGPLAN_*`` variables.

        Raises
        ------
        ValueError
            Naming the variable whose value cannot be read.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = ENV_PREFIX + f.name.upper()
            if name not in env:
                continue
            raw = env[name]
            kind = type(getattr(cls(), f.name))
            try:
                if kind is bool:
                    if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                        raise ValueError(raw)
                    values[f.name] = raw.lower() in ("1", "true", "yes")
                else:
                    values[f.name] = kind(raw)
            except ValueError:
                raise ValueError(f"{name}: cannot read '{raw}' as {kind.__name__}") from None
        return cls().with_overrides(values)

    def problems(self) -> list[str]:
        """Settings that cannot work, each naming the field."""
        found = []
        positive = (
            "max_concurrent_solves",
            "max_time_limit",
            "default_time_limit",
            "default_workers",
            "max_workers",
            "max_message_bytes",
            "max_units",
            "max_venues",
            "max_shifts",
            "max_candidates",
            "max_streams",
            "max_streams_per_tenant",
            "job_cleanup_interval",
            "max_jobs_per_tenant",
            "max_job_bytes_per_tenant",
            "max_job_attempts",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                found.append(f"{name}: must be positive, got {getattr(self, name)}")
        for name in (
            "deadline_margin",
            "grace",
            "drain",
            "retry_after",
            "worker_memory_mb",
            "worker_nice",
            "overrun_grace",
            "dask_workers",
            "job_retention",
        ):
            if getattr(self, name) < 0:
                found.append(f"{name}: must not be negative, got {getattr(self, name)}")
        for name in ("port", "metrics_port"):
            if not 0 <= getattr(self, name) <= 65535:
                found.append(f"{name}: must be 0..65535, got {getattr(self, name)}")
        if bool(self.tls_cert) != bool(self.tls_key):
            found.append("tls_cert, tls_key: give both or neither")
        if self.tls_client_ca and not self.tls_cert:
            found.append("tls_client_ca: needs tls_cert and tls_key (mutual TLS is TLS)")
        return found
