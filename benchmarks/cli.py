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
