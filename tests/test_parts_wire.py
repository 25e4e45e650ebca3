"""The national reserve, the parts and their progress cross the wire unchanged."""

from __future__ import annotations

from server.convert import (
    instance_from_proto,
    instance_to_proto,
    progress_from_proto,
    progress_to_proto,
    result_from_proto,
    result_to_proto,
)
from solver import solve
from solver.result import Progress
from tests.provinces import provinces


def brimob(uid: str) -> dict[str, object]:
    return {"id": uid, "force": "polri", "type": "brimob", "headcount": 2, "lead_hours": 6.5}


def test_wire_keeps_the_reserve_of_an_instance() -> None:
    instance = provinces(count=2, reserve=[brimob("b-1"), {**brimob("b-2"), "max_travel_km": 90}])
    assert instance_from_proto(instance_to_proto(instance)) == instance


def test_wire_keeps_the_parts_and_dispatches_of_a_result() -> None:
    instance = provinces(count=3, units_each=8, short=(1,), reserve=[brimob("b-1")])
    result = solve(instance, time_limit=20, split="in-process")
    assert result.parts and result.dispatches
    back = result_from_proto(result_to_proto(result))
    assert back.parts == result.parts
    assert back.dispatches == result.dispatches


def test_wire_keeps_the_parts_fields_of_progress() -> None:
    progress = Progress(
        objective=120,
        best_bound=0,
        gap=1.0,
        elapsed=2.5,
        stage=0,
        parts_done=3,
        parts_total=24,
        shortfall=4_200,
    )
    assert progress_from_proto(progress_to_proto(progress)) == progress
