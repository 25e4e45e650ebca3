"""``ringplan generate`` and ``ringplan bench``: the benchmark suite's commands."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from benchmarks.generator import SCALES, Variant, generate_data, write_instance
from solver import InstanceError, parse_instance


def cmd_generate(args: argparse.Namespace) -> int:
    """Generate one instance, validate it and write it as JSON."""
    start = time.perf_counter()
    data = generate_data(args.scale, args.seed, args.variant)
    try:
        instance = parse_instance(data)
    except InstanceError as error:  # a defect of the generator, never the user's input
        print(f"ringplan: generated instance is invalid: {error}", file=sys.stderr)
        return 1
    write_instance(data, args.out)
    people = sum(unit.headcount for unit in instance.units)
    print(
        f"{args.out}: {args.scale} {args.variant} seed {args.seed}: {len(instance.venues)} venues, "
        f"{len(instance.units)} units ({people} personnel), {len(instance.shifts)} shifts "
        f"in {time.perf_counter() - start:.2f} s"
    )
    return 0


def register(sub: Any) -> None:
    """Add the benchmark commands to the ``ringplan`` sub-command parser ``sub``."""
    p = sub.add_parser("generate", help="write a generated benchmark instance")
    p.add_argument("scale", choices=list(SCALES))
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--variant", choices=[v.value for v in Variant], default="loose", help="default loose"
    )
    p.add_argument("--out", required=True, help="instance JSON file to write")
    p.set_defaults(func=cmd_generate)
    register_bench(sub)


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the benchmark and write tables and plots."""
    from pathlib import Path

    from benchmarks.plots import write_plots
    from benchmarks.runner import load_records, make_instances, run_bench, write_tables
    from benchmarks.solvers import check_solver_name

    solvers = [check_solver_name(name) for name in args.solvers]
    out = Path(args.out)
    if args.report:
        records = load_records(out)
        if not records:
            print(f"ringplan: no records under {out / 'records'}", file=sys.stderr)
            return 2
        write_tables(records, out)
        if not args.no_plots:
            write_plots(records, out / "plots")
        print(f"rewrote the tables and plots of {len(records)} runs in {out}")
        return 0
    instances = [Path(p) for p in args.instance or []]
    missing = [str(p) for p in instances if not p.is_file()]
    if missing:
        print(f"ringplan: no such instance file: {', '.join(missing)}", file=sys.stderr)
        return 2
    scales = args.scales if args.scales is not None else ([] if instances else ["district", "city"])
    if scales:
        instances += make_instances(out, scales, args.variants, args.instance_seeds)
    records = run_bench(
        instances,
        solvers,
        time_limits=args.time_limit,
        seeds=args.seeds,
        workers=args.workers,
        out=out,
        memory_limit_gb=args.memory_limit_gb,
        timeout_margin=args.timeout_margin,
        progress=not args.quiet,
    )
    runs, _, table = write_tables(records, out)
    if not args.no_plots:
        write_plots(records, out / "plots")
    print(table.read_text(encoding="utf-8"))
    print(f"wrote {runs}, {table}" + ("" if args.no_plots else f" and {out / 'plots'}/"))
    failed = [r for r in records if r.get("check_ok") is False]
    return 1 if failed else 0


def register_bench(sub: Any) -> None:
    """Add ``ringplan bench`` to the sub-command parser ``sub``."""
    from benchmarks.solvers import DEFAULT_SOLVERS

    p = sub.add_parser("bench", help="benchmark ringplan against the baselines")
    p.add_argument(
        "--scales",
        nargs="*",
        choices=list(SCALES),
        default=None,
        help="generated instances to run (default district city, none when --instance is given)",
    )
    p.add_argument(
        "--variants", nargs="+", choices=[v.value for v in Variant], default=["tight", "loose"]
    )
    p.add_argument("--instance-seeds", nargs="+", type=int, default=[0])
    p.add_argument("--instance", action="append", help="also run this instance file")
    p.add_argument(
        "--solvers",
        nargs="+",
        default=list(DEFAULT_SOLVERS),
        help="ringplan, ringplan:PRESET, greedy, highs, naive-cpsat",
    )
    p.add_argument("--seeds", nargs="+", type=int, default=[0], help="solver seeds")
    p.add_argument(
        "--time-limit",
        nargs="+",
        type=float,
        default=[30.0],
        help="budgets in seconds, each a separate run (default 30)",
    )
    p.add_argument("--workers", type=int, default=2)
    p.add_argument(
        "--memory-limit-gb",
        type=float,
        default=16.0,
        help="address-space limit per run (default 16)",
    )
    p.add_argument(
        "--timeout-margin",
        type=float,
        default=600.0,
        help="kill a run this many seconds past its budget (default 600)",
    )
    p.add_argument("--out", default="benchmarks/out/bench", help="output directory")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument(
        "--report", action="store_true", help="only rewrite tables and plots from --out's records"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_bench)
