"""Crash drill for durable jobs: ``kill -9`` a real server while jobs run, restart, count.

Each round starts ``ringplan serve`` on a fresh store with one solve slot, submits jobs, kills
the server with SIGKILL while the first job runs and the others wait, starts a new server on
the same store and waits for every job to finish. It reports, per round, whether any job was
lost or duplicated, how many started again, whether every plan passes the independent checker,
and how long recovery took.

    .venv/bin/python -m benchmarks.crash_jobs --rounds 5 --jobs 4
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from server.client import RingplanClient
from server.jobs.state import JobState
from solver import check_plan, load_instance

CITY = Path(__file__).resolve().parent.parent / "ringplan" / "examples" / "city.json"


def _start(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "ringplan", "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("ringplan serving on"):
        raise RuntimeError(f"server did not start: {line!r}")
    return process, line.split()[-1]


def drill(jobs: int, time_limit: float, rng: random.Random) -> dict[str, object]:
    """One round; returns its figures."""
    instance = load_instance(CITY)
    with tempfile.TemporaryDirectory() as state:
        env = {
            **os.environ,
            "RINGPLAN_PORT": "0",
            "RINGPLAN_JOBS_DB": f"{state}/jobs.sqlite3",
            "RINGPLAN_MAX_CONCURRENT_SOLVES": "1",
            "RINGPLAN_DRAIN": "0",
        }
        process, target = _start(env)
        with RingplanClient(target) as client:
            ids = [
                client.submit_job(instance, request_id=f"r{i}", time_limit=time_limit)[0].id
                for i in range(jobs)
            ]
            while client.get_job(ids[0]).state is not JobState.RUNNING:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.2, time_limit * 0.8))
            states = [client.get_job(i).state for i in ids]
        process.send_signal(signal.SIGKILL)
        process.wait()
        killed_at = time.perf_counter()
        process, target = _start(env)
        try:
            with RingplanClient(target) as client:
                finals = {}
                for job_id in ids:
                    finals[job_id] = list(client.watch_job(job_id))[-1]
                recovered = time.perf_counter() - killed_at
                listed, _ = client.list_jobs(page_size=500)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    return {
        "running_at_kill": sum(s is JobState.RUNNING for s in states),
        "queued_at_kill": sum(s is JobState.QUEUED for s in states),
        "lost": len(set(ids) - {j.id for j in listed}),
        "duplicated": len(listed) - len({j.id for j in listed}),
        "succeeded": sum(v.state is JobState.SUCCEEDED for v in finals.values()),
        "restarted": sum(v.attempts > 1 for v in finals.values()),
        "plans_checked_ok": sum(
            v.result is not None and check_plan(instance, v.result.plan).ok for v in finals.values()
        ),
        "recovery_seconds": round(recovered, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--time-limit", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(
        "| round | running at kill | queued at kill | lost | duplicated | succeeded | "
        "restarted | plans checker-ok | all done after kill (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in range(args.rounds):
        f = drill(args.jobs, args.time_limit, rng)
        print(
            f"| {r + 1} | {f['running_at_kill']} | {f['queued_at_kill']} | {f['lost']} | "
            f"{f['duplicated']} | {f['succeeded']}/{args.jobs} | {f['restarted']} | "
            f"{f['plans_checked_ok']}/{args.jobs} | {f['recovery_seconds']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
