"""``ringplan job``: show a job kept by a ringplan server.

Registered on the main parser by :func:`register`; exit codes as in :mod:`ringplan.common`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ringplan.common import EXIT_OK, ask_server
from solver.figures import terms_text

if TYPE_CHECKING:
    from server.client import JobView


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 'es' if word.endswith('sh') else 's'}"


def job_text(job: JobView) -> str:
    """A job for a person: state, attempts and the crashes among them, reason, times, its last
    progress and, once it succeeded, its result's summary."""
    request = f" (request {job.request_id})" if job.request_id else ""
    lines = [
        f"job {job.id}{request}: {job.state.value}",
        f"attempts: {job.attempts} ({_plural(job.crashes, 'crash')} of the server under it)",
    ]
    if job.reason:
        lines.append(f"reason: {job.reason}")
    times = [("created", job.created_at), ("started", job.started_at)]
    times += [("finished", job.finished_at), ("updated", job.updated_at)]
    lines.append(", ".join(f"{name} {when}" for name, when in times if when))
    if job.progress is not None:
        progress = job.progress
        lines.append(f"last progress at {progress.elapsed:.2f} s: {terms_text(progress.terms)}")
    if job.result is not None:
        lines.append(job.result.summary())
    return "\n".join(lines)


def cmd_job(args: argparse.Namespace) -> int:
    print(job_text(ask_server(args, lambda client: client.get_job(args.id))))
    return EXIT_OK


def register(sub: Any) -> None:
    """Add the ``job`` command to the main parser's subcommands."""
    p = sub.add_parser("job", help="show a job kept by a ringplan server")
    p.add_argument("id", help="the job's id (SubmitJob's answer)")
    p.add_argument("--server", required=True, metavar="HOST:PORT", help="the server")
    p.add_argument("--tls", action="store_true", help="TLS, trusting the system's CAs")
    p.add_argument("--tls-ca", metavar="PEM", help="TLS, trusting this CA for the server")
    p.add_argument("--token", help="bearer token (default: $RINGPLAN_TOKEN)")
    p.set_defaults(func=cmd_job)
