"""What the ``ringplan`` commands share: exit codes, the one-line error, reading instances and
plans, progress lines, writing results and the solve options."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from solver import Instance, InstanceError, Plan, Progress, load_instance
from solver.figures import terms_text
from solver.validation import load_json, problems_from_validation_error

if TYPE_CHECKING:
    from server.client import RingplanClient

EXIT_OK, EXIT_VIOLATIONS, EXIT_INPUT, EXIT_NO_PLAN = 0, 1, 2, 3

T = TypeVar("T")


class CliError(Exception):
    """A problem to report in one line (or a few, for several input problems) and exit 2."""


def read_instance(path: str) -> Instance:
    """Read and validate an instance; its problems become a :class:`CliError`."""
    try:
        return load_instance(path)
    except InstanceError as error:
        raise CliError(problems_text(path, error)) from None


def problems_text(path: str, error: InstanceError) -> str:
    """The problems of an input, one a line (a single problem without a path: one line)."""
    if len(error.problems) == 1 and not error.problems[0].path:
        return str(error.problems[0])
    lines = [f"{path}: {len(error.problems)} problem(s)"]
    lines += [f"  {problem}" for problem in error.problems]
    return "\n".join(lines)


def load_plan(path: str) -> Plan:
    """Read a plan, either bare or inside a result written by ``solve --out``."""
    from pydantic import ValidationError

    try:
        data: Any = load_json(path)
    except InstanceError as error:
        raise CliError(str(error.problems[0])) from None
    if isinstance(data, dict) and "plan" in data:
        data = data["plan"]
    try:
        return Plan.model_validate(data)
    except ValidationError as error:
        problems = problems_from_validation_error(error)
        raise CliError(problems_text(path, InstanceError(problems))) from None


def print_progress(progress: Progress) -> None:
    """One progress line on stderr (a better plan, or a better bound of the best plan)."""
    bounds = "".join(f"  {t.value} >= {v}" for t, v in progress.term_bounds.items())
    print(
        f"  [{progress.elapsed:7.2f} s] better plan: {terms_text(progress.terms)}{bounds}",
        file=sys.stderr,
        flush=True,
    )


def write_result(result: BaseModel, out: str | None) -> None:
    """Write the result as JSON to ``out``, if given."""
    if out is None:
        return
    try:
        Path(out).write_text(result.model_dump_json(indent=1), encoding="utf-8")
    except OSError as error:
        raise CliError(f"cannot write {out}: {error.strerror}") from None


def add_solve_options(parser: argparse.ArgumentParser) -> None:
    """The time limit and workers of every command that solves."""
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds (default 30)")
    parser.add_argument("--workers", type=int, default=2, help="CP-SAT workers (default 2)")


def _read_file(option: str, path: str | None) -> bytes | None:
    if path is None:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise CliError(f"{option} {path}: cannot read it ({error.strerror})") from None


def client_security(args: argparse.Namespace) -> dict[str, Any]:
    """TLS and token options of ``solve --server`` (none for ``demo``)."""
    if bool(getattr(args, "tls_cert", None)) != bool(getattr(args, "tls_key", None)):
        raise CliError("--tls-cert and --tls-key go together")
    return {
        "tls": getattr(args, "tls", False),
        "root_certificates": _read_file("--tls-ca", getattr(args, "tls_ca", None)),
        "client_cert": _read_file("--tls-cert", getattr(args, "tls_cert", None)),
        "client_key": _read_file("--tls-key", getattr(args, "tls_key", None)),
        "token": getattr(args, "token", None) or os.environ.get("RINGPLAN_TOKEN") or None,
    }


def ask_server(args: argparse.Namespace, ask: Callable[[RingplanClient], T]) -> T:
    """``ask`` the server of ``args.server`` (with its TLS and token options); a refusal is a
    one-line :class:`CliError` naming the server."""
    from server.client import RingplanClient, RingplanError

    with RingplanClient(args.server, **client_security(args)) as client:
        try:
            return ask(client)
        except RingplanError as error:
            raise CliError(f"server {args.server}: {error}") from None
