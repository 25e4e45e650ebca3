"""``ringplan report``, ``export``, ``suggest`` and ``why``: a plan for people to read.

Registered on the main parser by :func:`register`; exit codes as in :mod:`ringplan.cli`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ringplan.common import EXIT_OK, CliError, ask_server, problems_text, read_instance
from solver import Force, Instance, InstanceError, Result
from solver.validation import load_json, problems_from_validation_error
from solver.whatif import WhatIfResponse


def load_result(path: str) -> tuple[Result, WhatIfResponse | None]:
    """A result written by ``solve --out``, or a what-if answer written by ``whatif --out``
    (then its result and the answer)."""
    try:
        data: Any = load_json(path)
    except InstanceError as error:
        raise CliError(str(error.problems[0])) from None
    try:
        if isinstance(data, dict) and "diff" in data and "result" in data:
            answer = WhatIfResponse.model_validate(data)
            return answer.result, answer
        return Result.model_validate(data), None
    except ValidationError as error:
        problems = problems_from_validation_error(error)
        raise CliError(problems_text(path, InstanceError(problems))) from None


def write_report(instance: Instance, result: Result, out: str, whatif: Any = None) -> None:
    """Write the HTML report of ``result`` to ``out``."""
    from ringplan.report import render_report

    try:
        Path(out).write_text(render_report(instance, result, whatif), encoding="utf-8")
    except OSError as error:
        raise CliError(f"cannot write {out}: {error.strerror}") from None


def cmd_report(args: argparse.Namespace) -> int:
    if args.server or args.job:
        if not (args.server and args.job) or args.instance or args.result:
            raise CliError("report --server ADDR --job ID takes no instance or result files")
        _remote_report(args)
    else:
        if not (args.instance and args.result):
            raise CliError("report needs INSTANCE and RESULT files (or --server and --job)")
        instance = read_instance(args.instance)
        result, answer = load_result(args.result)
        write_report(instance, result, args.out, answer)
    print(f"report written to {args.out}")
    return EXIT_OK


def _remote_report(args: argparse.Namespace) -> None:
    """Fetch the report of a finished job from a ringplan server and write it."""
    html = ask_server(args, lambda client: client.job_report(args.job))
    try:
        Path(args.out).write_text(html, encoding="utf-8")
    except OSError as error:
        raise CliError(f"cannot write {args.out}: {error.strerror}") from None


def cmd_export(args: argparse.Namespace) -> int:
    from ringplan.export import write_csv

    instance = read_instance(args.instance)
    result, _ = load_result(args.result)
    try:
        written = write_csv(instance, result, Path(args.csv))
    except OSError as error:
        raise CliError(f"cannot write into {args.csv}: {error.strerror}") from None
    for path in written:
        print(f"wrote {path}")
    return EXIT_OK


def cmd_suggest(args: argparse.Namespace) -> int:
    from solver.suggest import suggest_placements

    instance = read_instance(args.instance)
    result, _ = load_result(args.result)
    if args.headcount < 1:
        raise CliError("--headcount must be at least 1")
    placements = suggest_placements(
        instance,
        result.plan,
        result.coverage,
        unit_type=args.unit_type,
        headcount=args.headcount,
        home=args.home,
        force=Force(args.force),
        standby=args.standby,
        top=args.top,
    )
    who = f"one more {args.force} {args.unit_type} unit of {args.headcount} from {args.home}"
    if not placements:
        print(f"{who}: no placement covers any shortfall of this plan")
        return EXIT_OK
    print(f"{who}, best placements (the plan otherwise unchanged):")
    for rank, placement in enumerate(placements, 1):
        print(f"  {rank}. {placement}")
    return EXIT_OK


def cmd_why(args: argparse.Namespace) -> int:
    from solver.suggest import unit_contribution

    instance = read_instance(args.instance)
    result, _ = load_result(args.result)
    rows = unit_contribution(instance, result.plan, result.coverage, args.unit)
    if not rows:
        print(f"{args.unit} stands nowhere in this plan")
        return EXIT_OK
    covers = sum(r.covers for r in rows)
    km = sum(r.km for r in rows)
    shifts = f"{len(rows)} shift{'' if len(rows) == 1 else 's'}"
    print(
        f"{args.unit}: {shifts}, covers {covers} people-shifts that would otherwise be short, "
        f"{sum(r.overstaffing for r in rows)} above requirement, {km:.1f} km"
    )
    for row in rows:
        print(f"  {row}")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``report``, ``export``, ``suggest`` and ``why`` to the subcommands."""
    p = sub.add_parser("report", help="write a plan as one self-contained HTML page")
    p.add_argument("instance", nargs="?", help="instance JSON file")
    p.add_argument("result", nargs="?", help="result of solve --out (or answer of whatif --out)")
    p.add_argument("--out", required=True, help="HTML file to write")
    p.add_argument("--server", metavar="HOST:PORT", help="fetch a finished job's report")
    p.add_argument("--job", metavar="ID", help="the job (with --server)")
    p.add_argument("--tls", action="store_true", help="TLS, trusting the system's CAs")
    p.add_argument("--tls-ca", metavar="PEM", help="TLS, trusting this CA for the server")
    p.add_argument("--token", help="bearer token (default: $RINGPLAN_TOKEN)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("export", help="write roster, coverage and activations as CSV files")
    p.add_argument("instance")
    p.add_argument("result", help="result of solve --out (or answer of whatif --out)")
    p.add_argument("--csv", required=True, metavar="DIR", help="directory for the CSV files")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "suggest", help="rank the best placements of one more unit, without a re-plan"
    )
    p.add_argument("instance")
    p.add_argument("result", help="result of solve --out")
    p.add_argument("--unit-type", required=True, help="type of the extra unit (brimob, ...)")
    p.add_argument("--headcount", type=int, required=True, help="people in the extra unit")
    p.add_argument("--home", required=True, metavar="REGION", help="its home region")
    p.add_argument("--force", choices=[f.value for f in Force], default=Force.POLRI.value)
    p.add_argument("--standby", action="store_true", help="a standby (reserve) unit")
    p.add_argument("--top", type=int, default=5, help="how many placements (default 5)")
    p.set_defaults(func=cmd_suggest)

    p = sub.add_parser("why", help="why a unit stands where it stands: its share of each term")
    p.add_argument("instance")
    p.add_argument("result", help="result of solve --out")
    p.add_argument("unit", help="unit id")
    p.set_defaults(func=cmd_why)
