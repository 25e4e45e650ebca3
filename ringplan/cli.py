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

from ringplan.common import (
    EXIT_INPUT,
    EXIT_NO_PLAN,
    EXIT_OK,
    EXIT_VIOLATIONS,
    CliError,
    add_solve_options,
    client_security,
    load_plan,
    print_progress,
    problems_text,
    read_instance,
    write_result,
)
from solver import (
    Instance,
    InstanceError,
    Plan,
    Result,
    check_plan,
    load_instance,
    solve,
)
from solver.explain.warnings import sure_shortfall_warnings
from solver.presets import PRESETS
from solver.validation import instance_warnings

EXAMPLES = Path(__file__).parent / "examples"


def _solve_exit(result: Result) -> int:
    return EXIT_OK if result.status.has_plan else EXIT_NO_PLAN


def _solve_remote(
    target: str, instance: Instance, args: argparse.Namespace, progress: Any
) -> Result:
    """Plan through a ringplan server, printing its streamed progress."""
    from server.client import RingplanClient, RingplanError

    with RingplanClient(target, **client_security(args)) as client:
        try:
            stream = client.solve_stream(
                instance,
                time_limit=args.time_limit,
                workers=args.workers,
                preset=args.preset,
                seed=args.seed,
            )
            return stream.result(on_progress=progress)
        except RingplanError as error:
            raise CliError(f"server {target}: {error}") from None


def cmd_solve(args: argparse.Namespace) -> int:
    from ringplan.parts_bar import parts_bar

    instance = read_instance(args.instance)
    progress = None if args.quiet else print_progress
    if args.server:
        result = _solve_remote(args.server, instance, args, progress)
    else:
        try:
            with parts_bar(not args.quiet) as part_progress:
                result = solve(
                    instance,
                    time_limit=args.time_limit,
                    workers=args.workers,
                    preset=args.preset,
                    seed=args.seed,
                    progress=progress,
                    split=args.split,
                    scheduler=args.scheduler,
                    part_progress=part_progress,
                    deterministic_time=args.deterministic_time,
                )
        except MemoryError:
            print("ringplan: out of memory before a plan was found", file=sys.stderr)
            return EXIT_NO_PLAN
    print(result.summary())
    if args.verbose and result.phases:
        print("phases (seconds from the start, name, time taken, why it ended: what changed):")
        print(result.timeline())
    write_result(result, args.out)
    if args.report and result.status.has_plan:
        from ringplan.report_cli import write_report

        write_report(instance, result, args.report)
        print(f"report written to {args.report}")
    return _solve_exit(result)


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        instance = load_instance(args.instance)
    except InstanceError as error:
        print(problems_text(args.instance, error))
        return EXIT_VIOLATIONS
    print(
        f"{args.instance}: valid ({len(instance.venues)} venues, {len(instance.units)} units, "
        f"{len(instance.shifts)} shifts)"
    )
    for warning in [*instance_warnings(instance), *sure_shortfall_warnings(instance)]:
        print(f"warning: {warning}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    instance = read_instance(args.instance)
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
    schemas = {
        "instance": Instance.model_json_schema(),
        "plan": Plan.model_json_schema(),
        "result": Result.model_json_schema(),
    }
    chosen = schemas if args.which == "all" else schemas[args.which]
    print(json.dumps(chosen, indent=1))
    return EXIT_OK


def _server_config(args: argparse.Namespace) -> Any:
    from server.config import ServerConfig

    try:
        config = ServerConfig.from_env().with_overrides(
            {
                "host": args.host,
                "port": args.port,
                "max_concurrent_solves": args.max_concurrent_solves,
                "max_time_limit": args.max_time_limit,
                "reflection": False if args.no_reflection else None,
                "grace": args.grace,
                "tls_cert": args.tls_cert,
                "tls_key": args.tls_key,
                "tls_client_ca": args.tls_client_ca,
                "tokens_file": args.tokens_file,
            }
        )
    except ValueError as error:
        raise CliError(str(error)) from None
    problems = config.problems()
    if problems:
        raise CliError("; ".join(problems))
    return config


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    from server.app import serve

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        serve(_server_config(args))
    except OSError as error:
        raise CliError(str(error)) from None
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    import tempfile

    from server.app import create_server
    from server.config import ServerConfig

    path = EXAMPLES / f"{args.example}.json"
    instance = read_instance(str(path))
    state = tempfile.TemporaryDirectory(prefix="ringplan-demo-")
    config = ServerConfig(port=0, drain=0.0, jobs_db=f"{state.name}/jobs.sqlite3")
    with state, create_server(config) as server:
        print(f"ringplan service started on {server.target} (embedded defaults)", flush=True)
        print(f"planning bundled instance '{args.example}' ({path.name}) through gRPC", flush=True)
        result = _solve_remote(server.target, instance, args, print_progress)
        print(result.summary())
    print("ringplan service stopped")
    report = check_plan(instance, result.plan)
    print("independent check: " + ("plan holds" if report.ok else "; ".join(report.violations)))
    return _solve_exit(result) if report.ok else EXIT_VIOLATIONS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ringplan",
        description="Plan security deployments in rings around election venues.",
        epilog="exit codes: 0 ok, 1 rules broken / invalid instance, 2 bad input, 3 no plan",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("solve", help="plan an instance and print a summary")
    p.add_argument("instance", help="instance JSON file")
    add_solve_options(p)
    p.add_argument(
        "--preset",
        default="default",
        choices=sorted(PRESETS),
        help="solver preset: model, warm start, decomposition and CP-SAT parameters "
        "(see solver/presets.py); 'large' for province scale and up, 'unit' for the "
        "per-unit model",
    )
    p.add_argument("--seed", type=int, default=None, help="CP-SAT random seed")
    p.add_argument(
        "--deterministic-time",
        type=float,
        default=None,
        metavar="SECONDS",
        help="limit each CP-SAT search by its deterministic time, not the clock: with "
        "--workers 1 and a --seed the same plan on every run (--time-limit stays a safety net)",
    )
    p.add_argument("--out", help="write the whole result as JSON here")
    p.add_argument("--report", metavar="HTML", help="write the plan's HTML report here")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument(
        "-v", "--verbose", action="store_true", help="print the search's phases as a timeline"
    )
    p.add_argument("--server", metavar="HOST:PORT", help="plan on a ringplan server")
    p.add_argument(
        "--scheduler",
        metavar="tcp://HOST:8786",
        help="plan the instance's parts on this Dask cluster (started with `dask scheduler` "
        "and `dask worker`)",
    )
    p.add_argument(
        "--split",
        default="auto",
        choices=("auto", "off", "in-process", "local"),
        help="where the instance's independent parts are planned: auto (national-size "
        "instances or a reserve on an embedded Dask cluster, the rest as before), off, "
        "in-process, local (embedded Dask cluster)",
    )
    g = p.add_argument_group("server security (with --server)")
    g.add_argument("--tls", action="store_true", help="TLS, trusting the system's CAs")
    g.add_argument("--tls-ca", metavar="PEM", help="TLS, trusting this CA for the server")
    g.add_argument("--tls-cert", metavar="PEM", help="client certificate for mutual TLS")
    g.add_argument("--tls-key", metavar="PEM", help="private key of --tls-cert")
    g.add_argument(
        "--token", help="bearer token (default: $RINGPLAN_TOKEN, which keeps it out of ps)"
    )
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser(
        "serve",
        help="run the gRPC service (settings: flags, then RINGPLAN_* variables, then defaults)",
    )
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 50051; 0 picks a free one)")
    p.add_argument("--max-concurrent-solves", type=int, help="default: number of cores")
    p.add_argument("--max-time-limit", type=float, help="seconds (default 600)")
    p.add_argument("--grace", type=float, help="shutdown grace in seconds (default 10)")
    p.add_argument("--no-reflection", action="store_true", help="do not serve reflection")
    p.add_argument("--tls-cert", metavar="PEM", help="server certificate chain: serve TLS only")
    p.add_argument("--tls-key", metavar="PEM", help="private key of --tls-cert")
    p.add_argument(
        "--tls-client-ca", metavar="PEM", help="require client certificates signed by this CA"
    )
    p.add_argument(
        "--tokens-file",
        metavar="FILE",
        help="bearer tokens and tenants ('token tenant' lines or JSON); turns reflection off",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("validate", help="report every problem of an instance")
    p.add_argument("instance")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("check", help="check a plan against an instance, independently")
    p.add_argument("instance")
    p.add_argument("plan", help="plan JSON, or a result written by solve --out")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "schema", help="print the JSON Schema of the instance, the plan and the result"
    )
    p.add_argument("which", nargs="?", choices=("all", "instance", "plan", "result"), default="all")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser(
        "demo", help="start the service, plan a bundled instance through it, check the plan"
    )
    p.add_argument("--example", default="district", help="bundled instance (default district)")
    add_solve_options(p)
    p.set_defaults(func=cmd_demo, time_limit=20.0, preset="default", seed=None)

    from ringplan.job_cli import register as register_job
    from ringplan.report_cli import register as register_report
    from ringplan.whatif_cli import register as register_whatif

    register_whatif(sub)
    register_report(sub)
    register_job(sub)
    _register_benchmarks(sub)
    return parser


def _register_benchmarks(sub: Any) -> None:
    """``generate`` and ``bench``, from the checkout's ``benchmarks/`` (the wheel does not
    ship it): importable when the checkout is on the path (``python -m ringplan``, the tests),
    else found next to this package when it runs from a checkout (an editable install)."""
    checkout = Path(__file__).resolve().parents[1]
    try:
        from benchmarks.cli import register
    except ModuleNotFoundError:
        if not (checkout / "benchmarks" / "cli.py").is_file():
            return  # installed from the wheel: no benchmarks
        sys.path.append(str(checkout))
        from benchmarks.cli import register
    register(sub)


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
