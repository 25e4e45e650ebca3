"""The report of a finished job over gRPC: a real server on loopback, tokens and tenants."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from server.app import create_server
from server.client import RingplanClient, RingplanError
from server.config import ServerConfig
from tests.factory import make, ring, shifts, unit, venue

JABAR, BALI = secrets.token_urlsafe(24), secrets.token_urlsafe(24)


def _config(folder: Path) -> ServerConfig:
    tokens = folder / "tokens"
    tokens.write_text(f"{JABAR} polda-jabar\n{BALI} polda-bali\n")
    return ServerConfig(
        host="127.0.0.1",
        port=0,
        max_concurrent_solves=1,
        drain=0.0,
        jobs_db=str(folder / "jobs.sqlite3"),
        tokens_file=str(tokens),
    )


def test_finished_job_report_is_served_to_its_tenant_only(tmp_path: Path) -> None:
    # One ring needs 4 and holds 3: a short ring whose remedy the report must show.
    instance = make([venue(rings=[ring(1, 3, 4)])], [unit(f"u{i}") for i in range(4)], shifts(2))
    with create_server(_config(tmp_path)) as server:
        with RingplanClient(server.target, token=JABAR) as owner:
            job, _ = owner.submit_job(instance, time_limit=5)
            final = list(owner.watch_job(job.id, timeout=60))[-1]
            assert final.state.value == "succeeded"
            html = owner.job_report(job.id)
        assert html.startswith("<!DOCTYPE html>")
        assert "kpu ring 1 capacity 3 -\\u003e 4" in html  # the remedy, in the page's data
        with RingplanClient(server.target, token=BALI) as other:
            with pytest.raises(RingplanError) as caught:
                other.job_report(job.id)
            assert caught.value.code is grpc.StatusCode.NOT_FOUND
        with RingplanClient(server.target) as anonymous:
            with pytest.raises(RingplanError) as caught:
                anonymous.job_report(job.id)
            assert caught.value.code is grpc.StatusCode.UNAUTHENTICATED
        # The command line fetches the same page.
        out = tmp_path / "plan.html"
        remote = ("--server", server.target, "--job", job.id)
        run = subprocess.run(
            [sys.executable, "-m", "ringplan", "report", *remote, "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "RINGPLAN_TOKEN": JABAR},
        )
        assert run.returncode == 0, run.stderr
        assert out.read_text() == html


def test_report_of_a_running_job_is_a_failed_precondition(tmp_path: Path) -> None:
    from tests.factory import busy_instance

    with (
        create_server(_config(tmp_path)) as server,
        RingplanClient(server.target, token=JABAR) as client,
    ):
        job, _ = client.submit_job(busy_instance(), time_limit=30)
        with pytest.raises(RingplanError) as caught:
            client.job_report(job.id)
        assert caught.value.code is grpc.StatusCode.FAILED_PRECONDITION
        assert "its report is ready once it has finished with a plan" in str(caught.value)
        client.cancel_job(job.id)
