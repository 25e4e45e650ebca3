"""``ringplan whatif``: re-plan a plan in force under changes, one scenario or a batch.

Registered on the main parser by :func:`register`; exit codes as in :mod:`ringplan.common`.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from ringplan.common import (
    EXIT_NO_PLAN,
    EXIT_OK,
    EXIT_VIOLATIONS,
    CliError,
    add_solve_options,
    load_plan,
    print_progress,
    problems_text,
    read_instance,
    write_result,
)
from solver import InstanceError, RiskLevel
from solver.domain import VenueKind
from solver.validation import load_json, problems_from_validation_error
from solver.whatif import (
    Change,
    CloseVenue,
    ReplanOptions,
    Scenario,
    SetRisk,
    UnitUnavailable,
    WhatIfBatchRequest,
    WhatIfRequest,
    whatif,
    whatif_batch,
)

CHANGES: TypeAdapter[tuple[Change, ...]] = TypeAdapter(tuple[Change, ...])
SCENARIOS: TypeAdapter[tuple[Scenario, ...]] = TypeAdapter(tuple[Scenario, ...])

LEVELS = ", ".join(level.value for level in RiskLevel)


def _set_risk(text: str, window: tuple[str | None, str | None]) -> SetRisk:
    """``venue=level``, ``region:ID=level``, ``kind:KIND=level`` (``venue:ID`` also works)."""
    target, sep, level = text.rpartition("=")
    if not sep or not target:
        raise CliError(f"--set-risk {text}: expected TARGET=LEVEL, such as kpu-kupang=very_high")
    if level not in {lv.value for lv in RiskLevel}:
        raise CliError(f"--set-risk {text}: unknown risk level '{level}' (known: {LEVELS})")
    prefix, colon, rest = target.partition(":")
    selector: dict[str, Any] = {"venue": target}
    if colon and prefix in ("venue", "region", "kind"):
        selector = {prefix: rest}
        kinds = {k.value for k in VenueKind}
        if prefix == "kind" and rest not in kinds:
            known = ", ".join(sorted(kinds))
            raise CliError(f"--set-risk {text}: unknown venue kind '{rest}' (known: {known})")
    first, last = window
    try:
        return SetRisk(**selector, risk=RiskLevel(level), first_shift=first, last_shift=last)
    except ValidationError as error:
        raise CliError(f"--set-risk {text}: {_first_message(error)}") from None


def _first_message(error: ValidationError) -> str:
    return str(problems_from_validation_error(error)[0])


def _window(text: str | None) -> tuple[str | None, str | None]:
    if text is None:
        return None, None
    first, sep, last = text.partition("..")
    if not sep:
        raise CliError(f"--shifts {text}: expected FROM..TO (either end may be left out)")
    return first or None, last or None


def _unavailable(text: str) -> UnitUnavailable:
    unit, sep, shift = text.rpartition("@")
    if not sep or not unit or not shift:
        raise CliError(f"--unavailable {text}: expected UNIT@SHIFT")
    try:
        return UnitUnavailable(unit=unit, from_shift=shift)
    except ValidationError as error:
        raise CliError(f"--unavailable {text}: {_first_message(error)}") from None


def _close(text: str) -> CloseVenue:
    """``VENUE`` (closed in every shift) or ``VENUE@SHIFT`` (closed from that shift on)."""
    venue, sep, shift = text.partition("@")
    if sep and (not venue or not shift):
        raise CliError(f"--close {text}: expected VENUE or VENUE@SHIFT")
    try:
        return CloseVenue(venue=venue, from_shift=shift or None)
    except ValidationError as error:
        raise CliError(f"--close {text}: {_first_message(error)}") from None


T = TypeVar("T")


def _read(adapter: TypeAdapter[T], path: str, key: str) -> T:
    try:
        data: Any = load_json(path)
    except InstanceError as error:
        raise CliError(str(error.problems[0])) from None
    if isinstance(data, dict) and key in data:
        data = data[key]
    try:
        return adapter.validate_python(data)
    except ValidationError as error:
        problems = problems_from_validation_error(error)
        raise CliError(problems_text(path, InstanceError(problems))) from None


def _now(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"--now {text}: not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise CliError(f"--now {text}: give a timezone, such as {text}+08:00")
    return moment


def _flag_changes(args: argparse.Namespace) -> list[Change]:
    window = _window(args.shifts)
    if args.shifts is not None and not args.set_risk:
        raise CliError("--shifts applies to --set-risk, and none was given")
    changes: list[Change] = [_set_risk(text, window) for text in args.set_risk]
    changes += [_unavailable(text) for text in args.unavailable]
    changes += [_close(text) for text in args.close]
    if args.changes:
        more: tuple[Change, ...] = _read(CHANGES, args.changes, "changes")
        changes.extend(more)
    return changes


def _options(args: argparse.Namespace) -> ReplanOptions:
    try:
        return ReplanOptions(
            time_limit=args.time_limit,
            workers=args.workers,
            seed=args.seed,
            reproducible=args.reproducible,
            deterministic_time=args.deterministic_time,
        )
    except ValidationError as error:
        raise CliError(_first_message(error).replace("_", "-", 1)) from None


def cmd_whatif(args: argparse.Namespace) -> int:
    """Answer one what-if, or every scenario of ``--scenarios``."""
    instance = read_instance(args.instance)
    plan = load_plan(args.plan)
    changes = _flag_changes(args)
    options = _options(args)
    now = _now(args.now)
    try:
        if args.scenarios:
            if changes:
                raise CliError("--scenarios holds the changes; give no change options with it")
            batch = whatif_batch(
                WhatIfBatchRequest(
                    instance=instance,
                    plan=plan,
                    scenarios=_read(SCENARIOS, args.scenarios, "scenarios"),
                    now=now,
                    options=options,
                    max_parallel=args.max_parallel,
                )
            )
            for answer in batch.scenarios:
                print(answer.summary(), end="\n\n")
            print(batch.table_text())
            write_result(batch, args.out)
            answers = batch.scenarios
        else:
            progress = None if args.quiet else print_progress
            request = WhatIfRequest(
                instance=instance, plan=plan, changes=tuple(changes), now=now, options=options
            )
            answer = whatif(request, progress=progress)
            print(answer.summary())
            write_result(answer, args.out)
            answers = (answer,)
    except InstanceError as error:
        raise CliError(problems_text(args.instance, error)) from None
    except ValidationError as error:
        problems = problems_from_validation_error(error)
        raise CliError(problems_text(args.instance, InstanceError(problems))) from None
    if any(a.violations for a in answers):
        return EXIT_VIOLATIONS
    return EXIT_OK if all(a.result.status.has_plan for a in answers) else EXIT_NO_PLAN


def register(sub: Any) -> None:
    """Add the ``whatif`` command to the main parser's subcommands."""
    p: argparse.ArgumentParser = sub.add_parser(
        "whatif",
        help="re-plan a plan in force under changes, moving as few units as possible",
        description=(
            "Re-plan PLAN under changes: shortfall first, then as few moved unit-shifts as "
            "possible, then the usual priorities. Shifts started at --now are locked."
        ),
    )
    p.add_argument("instance", help="instance JSON file")
    p.add_argument("--plan", required=True, help="plan in force: plan JSON or solve --out result")
    p.add_argument(
        "--set-risk",
        action="append",
        default=[],
        metavar="TARGET=LEVEL",
        help=f"TARGET is a venue id, region:ID or kind:KIND; LEVEL one of {LEVELS}",
    )
    p.add_argument("--shifts", metavar="FROM..TO", help="limit every --set-risk to these shifts")
    p.add_argument(
        "--unavailable",
        action="append",
        default=[],
        metavar="UNIT@SHIFT",
        help="the unit can no longer work from this shift on",
    )
    p.add_argument(
        "--close",
        action="append",
        default=[],
        metavar="VENUE[@SHIFT]",
        help="close a venue; with @SHIFT from that shift on (guarded as before until then)",
    )
    p.add_argument("--changes", metavar="FILE", help="more changes as JSON (a list of changes)")
    p.add_argument(
        "--now", metavar="ISO", help="lock shifts started by then, e.g. 2024-02-27T09:00+08:00"
    )
    p.add_argument("--scenarios", metavar="FILE", help="JSON list of {name, changes}: a batch")
    p.add_argument("--max-parallel", type=int, default=2, help="batch: solves at once (2)")
    add_solve_options(p)
    p.add_argument("--seed", type=int, default=None, help="CP-SAT random seed")
    p.add_argument(
        "--reproducible",
        action="store_true",
        help="same request, same plan: seeded search stopped by deterministic time",
    )
    p.add_argument(
        "--deterministic-time",
        type=float,
        default=None,
        help="with --reproducible: deterministic budget per stage (default --time-limit)",
    )
    p.add_argument("--out", help="write the whole answer as JSON here")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_whatif)
