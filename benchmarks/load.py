"""Load on a real ringplan server over loopback: concurrent ``grpc.aio`` clients sending a mix of
Validate, GetInfo, health checks and small solves.

Every client makes a fixed number of calls (and the whole run stops at a time limit), so the
run is bounded. The report gives, per method, the calls, throughput, p50 and p99 latency and the
status codes; only OK is expected, and RESOURCE_EXHAUSTED for solves beyond the server's limit.
Every plan that comes back is re-checked with the independent checker.

Run it with ``python -m benchmarks.load --clients 8 32`` (a server is started for the run, in
its own process; ``--secure`` makes it serve TLS and require a bearer token) or against a
running plaintext server with ``--target HOST:PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ringplan.v1 import instance_pb2 as pb
from ringplan.v1 import ringplan_service_pb2 as api
from ringplan.v1 import ringplan_service_pb2_grpc as api_grpc
from server.convert import instance_to_proto, plan_from_proto
from solver import Instance, check_plan, parse_instance

MIX = {"Validate": 4, "GetInfo": 2, "Health": 3, "Solve": 1}
"""Relative frequency of each call."""

EXPECTED = {
    "Validate": {"OK"},
    "GetInfo": {"OK"},
    "Health": {"OK"},
    "Solve": {"OK", "RESOURCE_EXHAUSTED"},
}
"""Status codes a healthy server answers each method with under load."""


def small_instance() -> Instance:
    """One venue, two rings, six officers, two shifts: solved to optimality in milliseconds."""
    home = {"lat": -6.55, "lon": 107.44}
    return parse_instance(
        {
            "name": "load",
            "regions": [
                {"id": "jabar", "level": "province"},
                {"id": "pwk", "level": "regency", "parent": "jabar"},
            ],
            "venues": [
                {
                    "id": "kpu",
                    "kind": "kpu_regency",
                    "region": "pwk",
                    "location": home,
                    "risk": "high",
                    "rings": [
                        {"number": 1, "capacity": 3, "min_headcount": 2},
                        {"number": 2, "capacity": 6, "min_headcount": 3},
                    ],
                }
            ],
            "units": [
                {
                    "id": f"u{i}",
                    "force": "polri",
                    "type": "samapta",
                    "headcount": 1,
                    "home": {"region": "pwk", "location": home},
                }
                for i in range(6)
            ],
            "shifts": [
                {
                    "id": "s0",
                    "start": "2024-02-14T06:00:00+07:00",
                    "end": "2024-02-14T18:00:00+07:00",
                },
                {
                    "id": "s1",
                    "start": "2024-02-14T18:00:00+07:00",
                    "end": "2024-02-15T06:00:00+07:00",
                },
            ],
        }
    )


@dataclass
class MethodStats:
    """Calls of one method: latency of each, and how many ended with each status code."""

    latencies: list[float] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)
    by_code: dict[str, list[float]] = field(default_factory=dict)

    def add(self, latency: float, code: str) -> None:
        self.latencies.append(latency)
        self.codes[code] = self.codes.get(code, 0) + 1
        self.by_code.setdefault(code, []).append(latency)

    def percentile(self, q: float, code: str | None = None) -> float:
        """Latency at quantile ``q`` (nearest rank) of all calls or those ending in ``code``,
        in seconds."""
        ordered = sorted(self.latencies if code is None else self.by_code.get(code, []))
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


@dataclass
class LoadReport:
    """What one load run measured."""

    clients: int
    calls: int
    wall: float
    methods: dict[str, MethodStats]
    plans_checked: int = 0
    bad_plans: list[str] = field(default_factory=list)

    @property
    def unexpected(self) -> dict[str, dict[str, int]]:
        """Status codes no method should answer with, by method."""
        found = {}
        for name, stats in self.methods.items():
            odd = {c: n for c, n in stats.codes.items() if c not in EXPECTED[name]}
            if odd:
                found[name] = odd
        return found

    def rows(self) -> list[dict[str, object]]:
        """One row per method (and a total), for tables and JSON."""
        rows: list[dict[str, object]] = []
        for name, stats in sorted(self.methods.items()):
            rows.append(
                {
                    "clients": self.clients,
                    "method": name,
                    "calls": len(stats.latencies),
                    "per_second": round(len(stats.latencies) / self.wall, 1),
                    "p50_ms": round(1000 * stats.percentile(0.50), 1),
                    "p99_ms": round(1000 * stats.percentile(0.99), 1),
                    "codes": dict(sorted(stats.codes.items())),
                }
            )
            if len(stats.codes) > 1:  # e.g. solves run apart from solves refused at once
                for code, latencies in sorted(stats.by_code.items()):
                    rows.append(
                        {
                            "clients": self.clients,
                            "method": f"{name} {code}",
                            "calls": len(latencies),
                            "per_second": round(len(latencies) / self.wall, 1),
                            "p50_ms": round(1000 * stats.percentile(0.50, code), 1),
                            "p99_ms": round(1000 * stats.percentile(0.99, code), 1),
                            "codes": {code: len(latencies)},
                        }
                    )
        total = sum(len(s.latencies) for s in self.methods.values())
        rows.append(
            {
                "clients": self.clients,
                "method": "all",
                "calls": total,
                "per_second": round(total / self.wall, 1),
                "wall_s": round(self.wall, 2),
                "plans_checked": self.plans_checked,
            }
        )
        return rows


async def _client(
    channel: grpc.aio.Channel,
    calls: int,
    seed: int,
    stats: dict[str, MethodStats],
    instance: Instance,
    time_limit: float,
    report: LoadReport,
) -> None:
    stub = api_grpc.RingplanServiceStub(channel)
    health = health_pb2_grpc.HealthStub(channel)
    message: pb.Instance = instance_to_proto(instance)
    chooser = random.Random(seed)
    names, weights = list(MIX), list(MIX.values())
    solve = api.SolveRequest(
        instance=message, options=api.SolveOptions(time_limit_seconds=time_limit, workers=1)
    )
    requests: dict[str, Callable[[], Awaitable[object]]] = {
        "Validate": lambda: stub.Validate(api.ValidateRequest(instance=message), timeout=30),
        "GetInfo": lambda: stub.GetInfo(api.GetInfoRequest(), timeout=30),
        "Health": lambda: health.Check(health_pb2.HealthCheckRequest(), timeout=30),
        "Solve": lambda: stub.Solve(solve, timeout=30 + time_limit),
    }
    for _ in range(calls):
        name = chooser.choices(names, weights)[0]
        start = time.perf_counter()
        try:
            answer = await requests[name]()
            code = "OK"
        except grpc.aio.AioRpcError as error:
            code = error.code().name
            answer = None
        stats[name].add(time.perf_counter() - start, code)
        if isinstance(answer, api.SolveResponse):
            check = check_plan(instance, plan_from_proto(answer.result.plan))
            report.plans_checked += 1
            if not check.ok:
                report.bad_plans += check.violations


async def _warm_up(channel: grpc.aio.Channel, instance: Instance, time_limit: float) -> None:
    """One solve per solve slot, so that the first measured solves do not load the solver."""
    stub = api_grpc.RingplanServiceStub(channel)
    try:
        info = await stub.GetInfo(api.GetInfoRequest(), timeout=30)
    except grpc.aio.AioRpcError:
        return  # the calls under load will show why
    slots = info.limits.max_concurrent_solves
    request = api.SolveRequest(
        instance=instance_to_proto(instance),
        options=api.SolveOptions(time_limit_seconds=time_limit, workers=1),
    )
    await asyncio.gather(
        *(stub.Solve(request, timeout=60) for _ in range(slots)), return_exceptions=True
    )


def _channel(target: str, root_certificates: bytes | None, token: str | None) -> grpc.aio.Channel:
    if root_certificates is None:
        if token is not None:
            raise ValueError("the load runner sends a token over TLS only")
        return grpc.aio.insecure_channel(target)
    credentials = grpc.ssl_channel_credentials(root_certificates)
    if token is not None:
        credentials = grpc.composite_channel_credentials(
            credentials, grpc.access_token_call_credentials(token)
        )
    return grpc.aio.secure_channel(target, credentials)


async def run_load(
    target: str,
    *,
    clients: int,
    calls: int,
    time_limit: float = 0.2,
    budget: float = 120.0,
    seed: int = 0,
    root_certificates: bytes | None = None,
    token: str | None = None,
) -> LoadReport:
    """Run ``clients`` concurrent clients making ``calls`` calls each against ``target``.

    Parameters
    ----------
    target
        ``host:port`` of a ringplan server.
    clients, calls
        Concurrent clients, each on its own channel, and calls per client.
    time_limit
        Time limit of each solve, in seconds.
    budget
        The whole run is cancelled after this many seconds (:class:`TimeoutError`).
    seed
        Seeds the choice of calls, so that runs are comparable.
    root_certificates, token
        With a CA (PEM), the clients speak TLS, and send ``token`` as a bearer token if given.
    """
    instance = small_instance()
    stats = {name: MethodStats() for name in MIX}
    report = LoadReport(clients, clients * calls, 0.0, stats)
    channels = [_channel(target, root_certificates, token) for _ in range(clients)]
    try:
        for channel in channels:
            await asyncio.wait_for(channel.channel_ready(), timeout=10)
        await _warm_up(channels[0], instance, time_limit)
        start = time.perf_counter()
        tasks = [
            _client(channel, calls, seed + i, stats, instance, time_limit, report)
            for i, channel in enumerate(channels)
        ]
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=budget)
        report.wall = time.perf_counter() - start
    finally:
        for channel in channels:
            await channel.close()
    return report


@contextmanager
def spawned_server(
    max_concurrent_solves: int = 2, extra: Sequence[str] = ()
) -> Iterator[tuple[str, int]]:
    """``ringplan serve`` on a free loopback port in its own process, with ``extra`` flags:
    (target, pid)."""
    command = [sys.executable, "-m", "ringplan", "serve", "--port", "0", *extra]
    command += ["--max-concurrent-solves", str(max_concurrent_solves)]
    state = tempfile.TemporaryDirectory(prefix="ringplan-load-")
    env = {**os.environ, "RINGPLAN_DRAIN": "0", "RINGPLAN_DEFAULT_WORKERS": "1"}
    env["RINGPLAN_JOBS_DB"] = os.path.join(state.name, "jobs.sqlite3")  # never the user's store
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("ringplan serving on"):
            raise RuntimeError(f"the server did not start: {line!r}")
        yield line.split()[-1], process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)
        state.cleanup()


@dataclass(frozen=True)
class Secured:
    """A TLS certificate (from a throw-away CA) and a bearer token for a server under load."""

    serve_flags: tuple[str, ...]
    root_certificates: bytes
    token: str


def secured(folder: str) -> Secured:
    """Write a certificate for 127.0.0.1 made by ``trustme`` (a dev dependency) and a tokens
    file into ``folder``."""
    import secrets

    import trustme

    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    cert, key, tokens = (os.path.join(folder, n) for n in ("server.pem", "server.key", "tokens"))
    leaf.cert_chain_pems[0].write_to_path(cert)
    leaf.private_key_pem.write_to_path(key)
    token = secrets.token_urlsafe(24)
    with open(tokens, "w", encoding="utf-8") as out:
        out.write(f"{token} load\n")
    flags = ("--tls-cert", cert, "--tls-key", key, "--tokens-file", tokens)
    return Secured(flags, bytes(ca.cert_pem.bytes()), token)


def _table(rows: Sequence[dict[str, object]]) -> str:
    lines = [
        "| clients | method | calls | calls/s | p50 ms | p99 ms | status codes |",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        if row["method"] == "all":
            lines.append(
                f"| {row['clients']} | **all** | {row['calls']} | {row['per_second']} | | | "
                f"wall {row['wall_s']} s, {row['plans_checked']} plans checked |"
            )
            continue
        codes = ", ".join(f"{c} {n}" for c, n in dict(row["codes"]).items())  # type: ignore[call-overload]
        lines.append(
            f"| {row['clients']} | {row['method']} | {row['calls']} | {row['per_second']} | "
            f"{row['p50_ms']} | {row['p99_ms']} | {codes} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__)
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--calls", type=int, default=100, help="calls per client (default 100)")
    parser.add_argument("--time-limit", type=float, default=0.2, help="per solve, seconds")
    parser.add_argument("--budget", type=float, default=300.0, help="seconds per run at most")
    parser.add_argument("--max-concurrent-solves", type=int, default=2)
    parser.add_argument("--target", help="a running plaintext server instead of a new one")
    parser.add_argument(
        "--secure", action="store_true", help="serve TLS and require a bearer token (trustme)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON rows, not a table")
    args = parser.parse_args(argv)

    def measure(target: str, security: Secured | None = None) -> list[LoadReport]:
        return [
            asyncio.run(
                run_load(
                    target,
                    clients=n,
                    calls=args.calls,
                    time_limit=args.time_limit,
                    budget=args.budget,
                    root_certificates=security.root_certificates if security else None,
                    token=security.token if security else None,
                )
            )
            for n in args.clients
        ]

    if args.target:
        reports = measure(args.target)
    elif args.secure:
        with tempfile.TemporaryDirectory(prefix="ringplan-pki-") as folder:
            security = secured(folder)
            with spawned_server(args.max_concurrent_solves, security.serve_flags) as (target, _):
                reports = measure(target, security)
    else:
        with spawned_server(args.max_concurrent_solves) as (target, _):
            reports = measure(target)
    rows = [row for report in reports for row in report.rows()]
    print(json.dumps(rows, indent=1) if args.json else _table(rows))
    bad = [(r.clients, r.unexpected, r.bad_plans) for r in reports if r.unexpected or r.bad_plans]
    if bad:
        print(f"unexpected outcomes: {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
