"""The ``ringplan`` command line.

Exit codes
----------
0  success: a plan was found, the plan holds, the instance is valid
1  the plan breaks rules (``check``) or the instance is invalid (``validate``)
2  bad usage or an input that cannot be read or validated
3  the solve stopped before any plan was found
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from solver import (
    Instance,
    InstanceError,
    Plan,
    Progress,
    Result,
    check_plan,
    load_instance,
    solve,
)
from solver.presets import PRESETS
from solver.validation import instance_warnings, load_json, problems_from_validation_error

EXIT_OK, EXIT_VIOLATIONS, EXIT_INPUT, EXIT_NO_PLAN = 0, 1, 2, 3

EXAMPLES = Path(__file__).parent / "examples"


class CliError(Exception):
    """A problem to report in one line (or a few, for several input problems) and exit 2."""


def _load_instance(path: str) -> Instance:
    try:
        return load_instance(path)
    except InstanceError as error:
        raise CliError(_problems_text(path, error)) from None


def _problems_text(path: str, error: InstanceError) -> str:
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
        raise CliError(_problems_text(path, InstanceError(problems))) from None


def _print_progress(progress: Progress) -> None:
    print(
        f"  [{progress.elapsed:7.2f} s] objective {progress.objective}  "
        f"bound {progress.best_bound}  gap {100 * progress.gap:.2f} %",
        file=sys.stderr,
        flush=True,
    )


def _write_result(result: Result, out: str | None) -> None:
    if out is None:
        return
    try:
        Path(out).write_text(result.model_dump_json(indent=1), encoding="utf-8")
    except OSError as error:
        raise CliError(f"cannot write {out}: {error.strerror}") from None


def _solve_exit(result: Result) -> int:
    return EXIT_OK if result.status.has_plan else EXIT_NO_PLAN


def cmd_solve(args: argparse.Namespace) -> int:
    instance = _load_instance(args.instance)
    progress = None if args.quiet else _print_progress
    result = solve(
        instance,
        time_limit=args.time_limit,
        workers=args.workers,
        preset=args.preset,
        seed=args.seed,
        progress=progress,
    )
    print(result.summary())
    _write_result(result, args.out)
    return _solve_exit(result)


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        instance = load_instance(args.instance)
    except InstanceError as error:
        print(_problems_text(args.instance, error))
        return EXIT_VIOLATIONS
    print(
        f"{args.instance}: valid ({len(instance.venues)} venues, {len(instance.units)} units, "
        f"{len(instance.shifts)} shifts)"
    )
    for warning in instance_warnings(instance):
        print(f"warning: {warning}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    instance = _load_instance(args.instance)
    plan = load_plan(args.plan)
    report = check_plan(instance, plan)
    if report.ok:
        print(
            f"plan holds: {len(plan.assignments)} assignments, "
            f"shortfall {report.total_shortfall} headcount-shifts"
        )
        return EXIT_OK
    print(f"plan breaks {len(report.violations)} rule(s):")
    for violation in report.violations:
        print(f"  {violation}")
    return EXIT_VIOLATIONS


def cmd_schema(args: argparse.Namespace) -> int:
    schemas = {"instance": Instance.model_json_schema(), "result": Result.model_json_schema()}
    chosen = schemas if args.which == "all" else schemas[args.which]
    print(json.dumps(chosen, indent=1))
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    path = EXAMPLES / f"{args.example}.json"
    print(f"planning bundled instance '{args.example}' ({path.name})", flush=True)
    instance = _load_instance(str(path))
    result = solve(instance, time_limit=args.time_limit, workers=args.workers)
    print(result.summary())
    report = check_plan(instance, result.plan)
    print("independent check: " + ("plan holds" if report.ok else "; ".join(report.violations)))
    return _solve_exit(result) if report.ok else EXIT_VIOLATIONS


def _add_solve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds (default 30)")
    parser.add_argument("--workers", type=int, default=2, help="CP-SAT workers (default 2)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ringplan",
        description="Plan security deployments in rings around election venues.",
        epilog="exit codes: 0 ok, 1 rules broken / invalid instance, 2 bad input, 3 no plan",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("solve", help="plan an instance and print a summary")
    p.add_argument("instance", help="instance JSON file")
    _add_solve_options(p)
    p.add_argument(
        "--preset",
        default="default",
        choices=sorted(PRESETS),
        help="solver preset: model, warm start, decomposition and CP-SAT parameters "
        "(see solver/presets.py); 'large' for province scale and up, 'unit' for the "
        "per-unit model",
    )
    p.add_argument("--seed", type=int, default=None, help="CP-SAT random seed")
    p.add_argument("--out", help="write the whole result as JSON here")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("validate", help="report every problem of an instance")
    p.add_argument("instance")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("check", help="check a plan against an instance, independently")
    p.add_argument("instance")
    p.add_argument("plan", help="plan JSON, or a result written by solve --out")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("schema", help="print the JSON Schema of the instance and the result")
    p.add_argument("which", nargs="?", choices=("all", "instance", "result"), default="all")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("demo", help="plan a bundled instance and check it")
    p.add_argument("--example", default="district", help="bundled instance (default district)")
    _add_solve_options(p)
    p.set_defaults(func=cmd_demo, time_limit=20.0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except CliError as error:
        print(f"ringplan: {error}", file=sys.stderr)
        return EXIT_INPUT
    except ValueError as error:
        print(f"ringplan: {error}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    raise SystemExit(main())
