"""How big ringplan's model of an instance is, and what building its data costs.

``python -m benchmarks.model_size INSTANCE.json [--variables]`` prints the number of slots and
candidate assignments (one boolean each in the model), the seconds and the peak memory spent
on :func:`solver.model.data.build_data` and, with ``--variables``, on creating the CP-SAT
variables too. Used to explain why a scale is out of reach.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from benchmarks.worker import peak_memory_mb
from solver import load_instance
from solver.model.data import build_data


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.model_size")
    parser.add_argument("instance")
    parser.add_argument("--variables", action="store_true", help="also create the CP-SAT vars")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    instance = load_instance(args.instance)
    loaded = time.perf_counter()
    print(
        f"loaded {len(instance.units)} units, {len(instance.venues)} venues, "
        f"{len(instance.shifts)} shifts in {loaded - start:.1f} s "
        f"(peak {peak_memory_mb():.0f} MiB)",
        flush=True,
    )
    data = build_data(instance)
    built = time.perf_counter()
    print(
        f"build_data: {len(data.slots)} slots, {data.n_candidates} candidates in "
        f"{built - loaded:.1f} s (peak {peak_memory_mb():.0f} MiB)",
        flush=True,
    )
    if args.variables:
        from ortools.sat.python import cp_model

        from solver.model.variables import make_variables

        model = cp_model.CpModel()
        make_variables(model, data)
        print(
            f"make_variables: {time.perf_counter() - built:.1f} s "
            f"(peak {peak_memory_mb():.0f} MiB)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
