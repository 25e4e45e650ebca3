"""Health and GetInfo latency while many ``WatchJob`` streams are open, and while more solves
arrive than the server has slots for.

A server is started in its own process (``--max-concurrent-solves C``); a job on the bundled
city runs in one slot and ``--watchers`` streams watch it (each past its first message, so
holding its handler). Then, for ``--seconds`` each, two phases: (1) the watchers alone; (2) the
watchers and C+10 clients that solve a small instance back to back (C-1 solves run, the rest
are refused at once). In both, ``--probes`` clients call health and GetInfo back to back; the
report gives p50 and p99 per phase and method and every status code seen.

Run it with ``python -m benchmarks.watch_load --watchers 200``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from benchmarks.load import MethodStats, small_instance, spawned_server
from ringplan.v1 import ringplan_service_pb2 as api
from ringplan.v1 import ringplan_service_pb2_grpc as api_grpc
from server.convert import instance_to_proto
from solver import load_instance

CITY = "ringplan/examples/city.json"
STREAMS_PER_CHANNEL = 50


async def _probe(channel: grpc.aio.Channel, until: float, stats: dict[str, MethodStats]) -> None:
    stub = api_grpc.RingplanServiceStub(channel)
    health = health_pb2_grpc.HealthStub(channel)
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "Health": lambda: health.Check(health_pb2.HealthCheckRequest(), timeout=5),
        "GetInfo": lambda: stub.GetInfo(api.GetInfoRequest(), timeout=5),
    }
    while time.perf_counter() < until:
        for name, call in calls.items():
            start = time.perf_counter()
            try:
                await call()
                code = "OK"
            except grpc.aio.AioRpcError as error:
                code = error.code().name
            stats[name].add(time.perf_counter() - start, code)


async def _solver(channel: grpc.aio.Channel, until: float, stats: dict[str, MethodStats]) -> None:
    stub = api_grpc.RingplanServiceStub(channel)
    request = api.SolveRequest(
        instance=instance_to_proto(small_instance()),
        options=api.SolveOptions(time_limit_seconds=0.5, workers=1),
    )
    while time.perf_counter() < until:
        start = time.perf_counter()
        try:
            await stub.Solve(request, timeout=30)
            code = "OK"
        except grpc.aio.AioRpcError as error:
            code = error.code().name
            await asyncio.sleep(0.05)  # a refused client backs off a little
        stats["Solve"].add(time.perf_counter() - start, code)


async def run(
    target: str, *, watchers: int, probes: int, seconds: float, slots: int
) -> dict[str, dict[str, MethodStats]]:
    """The two phases' statistics, by phase and method."""
    channels = [grpc.aio.insecure_channel(target) for _ in range(probes + slots + 10)]
    watch_channels = [
        grpc.aio.insecure_channel(target)
        for _ in range((watchers + STREAMS_PER_CHANNEL - 1) // STREAMS_PER_CHANNEL)
    ]
    stub = api_grpc.RingplanServiceStub(channels[0])
    job = (
        await stub.SubmitJob(
            api.SubmitJobRequest(
                instance=instance_to_proto(load_instance(CITY)),
                options=api.SolveOptions(time_limit_seconds=4 * seconds + 60, workers=1),
            ),
            timeout=30,
        )
    ).job
    streams = [
        api_grpc.RingplanServiceStub(watch_channels[i // STREAMS_PER_CHANNEL]).WatchJob(
            api.WatchJobRequest(job_id=job.id), timeout=4 * seconds + 120
        )
        for i in range(watchers)
    ]
    try:
        await asyncio.gather(*(stream.read() for stream in streams))
        drains = [asyncio.ensure_future(_drain(stream)) for stream in streams]
        phases: dict[str, dict[str, MethodStats]] = {}
        for phase, solvers in (("watchers", 0), ("watchers + C+10 solves", slots + 10)):
            stats = {name: MethodStats() for name in ("Health", "GetInfo", "Solve")}
            until = time.perf_counter() + seconds
            await asyncio.gather(
                *(_probe(channels[i], until, stats) for i in range(probes)),
                *(_solver(channels[probes + i], until, stats) for i in range(solvers)),
            )
            phases[phase] = stats
        await stub.CancelJob(api.CancelJobRequest(job_id=job.id), timeout=30)
        for drain in drains:
            drain.cancel()
    finally:
        for stream in streams:
            stream.cancel()
        for channel in [*channels, *watch_channels]:
            await channel.close()
    return phases


async def _drain(stream: grpc.aio.UnaryStreamCall) -> None:
    try:
        async for _ in stream:
            pass
    except grpc.aio.AioRpcError:
        pass


def _table(watchers: int, phases: dict[str, dict[str, MethodStats]]) -> str:
    lines = [
        "| watch streams | phase | method | calls | p50 ms | p99 ms | status codes |",
        "|---:|---|---|---:|---:|---:|---|",
    ]
    for phase, stats in phases.items():
        for name, method in stats.items():
            if not method.latencies:
                continue
            codes = ", ".join(f"{code} {n}" for code, n in sorted(method.codes.items()))
            lines.append(
                f"| {watchers} | {phase} | {name} | {len(method.latencies)} | "
                f"{1000 * method.percentile(0.5):.1f} | {1000 * method.percentile(0.99):.1f} | "
                f"{codes} |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.watch_load", description=__doc__)
    parser.add_argument("--watchers", type=int, default=200)
    parser.add_argument("--probes", type=int, default=2, help="clients calling health and info")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--max-concurrent-solves", type=int, default=2)
    args = parser.parse_args(argv)
    os.environ.setdefault("RINGPLAN_MAX_STREAMS_PER_TENANT", str(max(256, args.watchers)))
    os.environ.setdefault("RINGPLAN_MAX_STREAMS", str(max(512, args.watchers)))
    with spawned_server(args.max_concurrent_solves) as (target, _):
        phases = asyncio.run(
            run(
                target,
                watchers=args.watchers,
                probes=args.probes,
                seconds=args.seconds,
                slots=args.max_concurrent_solves,
            )
        )
    print(_table(args.watchers, phases))
    failed = any(
        code not in ("OK", "RESOURCE_EXHAUSTED")
        for stats in phases.values()
        for method in stats.values()
        for code in method.codes
    )
    if failed:
        print("unexpected status codes", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
