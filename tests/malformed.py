"""Hypothesis strategies for malformed requests, built on the protobuf descriptors.

A request starts from a valid tiny instance and gets a few random mutations anywhere in its
message tree: a field set to a random, boundary or out-of-range value, an unknown enum number,
a bad timestamp, an id copied from elsewhere (duplicates and dangling references), a list
emptied, an element duplicated many times, a sub-message cleared. Some requests are built from
nothing instead, field by field. Walking the descriptors means new fields are fuzzed too.
"""

from __future__ import annotations

import math
from typing import Any

from google.protobuf import descriptor, message
from hypothesis import strategies as st

from ringplan.v1 import instance_pb2 as pb
from ringplan.v1 import ringplan_service_pb2 as api
from server.convert import instance_to_proto
from tests.factory import make, ring, shifts, unit, venue

FD = descriptor.FieldDescriptor

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)

TIMES = [
    "",
    "2024-02-14T06:00:00",  # no offset
    "2024-02-30T06:00:00+07:00",  # no such day
    "2024-02-14T25:00:00+07:00",  # no such hour
    "2024-02-14T06:00:00+99:00",  # no such offset
    "2024-02-14 06:00",
    "14/02/2024 06:00",
    "0001-01-01T00:00:00-12:00",
    "9999-12-31T23:59:59+14:00",
    "2024-02-14T06:00:00Z",
    "2024-02-14T06:00:00.123456789+07:00",
    "2024-02-13T22:00:00+07:00",
    "2024-02-15T06:00:00-05:00",
    "yesterday",
    "NaN",
]


def base_instance() -> pb.Instance:
    """A valid instance with two venues, regions, rules and a TNI unit: room for every kind of
    mistake."""
    instance = make(
        [
            venue("kpu", rings=[ring(1, 3, 2), ring(2, 6, 3, allowed_forces=["polri"])]),
            venue("bawaslu", rings=[ring(1, 2, 1)], risk="high"),
        ],
        [unit(f"u{i}") for i in range(4)] + [unit("tni-1", 4, force="tni", type="infantry")],
        shifts(2, hours=12),
    )
    return instance_to_proto(instance)


def _identifiers(root: message.Message) -> list[str]:
    """Every string in the message: ids and references to reuse, for duplicates and dangling
    references."""
    found: list[str] = []
    for field, value in root.ListFields():
        values = value if field.is_repeated else [value]
        for item in values:
            if field.cpp_type == FD.CPPTYPE_MESSAGE:
                found += _identifiers(item)
            elif field.cpp_type == FD.CPPTYPE_STRING:
                found.append(item)
    return found


def _places(root: message.Message) -> list[tuple[message.Message, FD]]:
    """Every (message, field) in the tree: set or not, scalar, list or sub-message."""
    places = []
    for field in root.DESCRIPTOR.fields:
        places.append((root, field))
        if field.cpp_type != FD.CPPTYPE_MESSAGE:
            continue
        if field.is_repeated:
            for item in getattr(root, field.name):
                places += _places(item)
        elif root.HasField(field.name):
            places += _places(getattr(root, field.name))
    return places


def _floats() -> st.SearchStrategy[float]:
    extremes = st.sampled_from([0.0, -0.0, -1.0, 1e-300, 1e300, math.inf, -math.inf, math.nan])
    return st.one_of(extremes, st.floats(allow_nan=True, allow_infinity=True))


def _ints(bounds: tuple[int, int]) -> st.SearchStrategy[int]:
    low, high = bounds
    extremes = st.sampled_from([0, -1, 1, low, high, low + 1, high - 1, 2**24, -(2**24)])
    return st.one_of(extremes, st.integers(-1000, 1000), st.integers(low, high))


def _strings(ids: list[str]) -> st.SearchStrategy[str]:
    text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
    choices = [text, st.sampled_from(TIMES)]
    if ids:
        choices.append(st.sampled_from(ids))
    return st.one_of(*choices)


def scalar(field: FD, ids: list[str]) -> st.SearchStrategy[Any]:
    """A value of the field's wire type, anywhere in its range."""
    kind = field.cpp_type
    if kind == FD.CPPTYPE_STRING:
        return _strings(ids)
    if kind == FD.CPPTYPE_BOOL:
        return st.booleans()
    if kind in (FD.CPPTYPE_DOUBLE, FD.CPPTYPE_FLOAT):
        return _floats()
    if kind == FD.CPPTYPE_INT64:
        return _ints(INT64)
    if kind == FD.CPPTYPE_ENUM:
        # Known numbers, the zero value, and numbers the enum does not define.
        known = [v.number for v in field.enum_type.values]
        return st.one_of(st.sampled_from(known), st.integers(-3, 12), _ints(INT32))
    return _ints(INT32)


@st.composite
def mutate(draw: st.DrawFn, root: message.Message, ids: list[str]) -> None:
    """Change one place of ``root``, in place."""
    owner, field = draw(st.sampled_from(_places(root)))
    name = field.name
    if field.is_repeated:
        items = getattr(owner, name)
        action = draw(st.sampled_from(["clear", "duplicate", "drop", "add"]))
        if action == "clear" or (action in ("duplicate", "drop") and not items):
            owner.ClearField(name)
        elif action == "duplicate":
            item = items[draw(st.integers(0, len(items) - 1))]
            for _ in range(draw(st.sampled_from([1, 1, 2, 50]))):
                if field.cpp_type == FD.CPPTYPE_MESSAGE:
                    items.add().CopyFrom(item)
                else:
                    items.append(item)
        elif action == "drop":
            del items[draw(st.integers(0, len(items) - 1))]
        elif field.cpp_type == FD.CPPTYPE_MESSAGE:
            items.add().CopyFrom(draw(built(field.message_type, depth=1)))
        else:
            items.append(draw(scalar(field, ids)))
    elif field.cpp_type == FD.CPPTYPE_MESSAGE:
        if draw(st.booleans()):
            owner.ClearField(name)
        else:
            getattr(owner, name).CopyFrom(draw(built(field.message_type, depth=1)))
    else:
        setattr(owner, name, draw(scalar(field, ids)))


@st.composite
def built(draw: st.DrawFn, kind: descriptor.Descriptor, depth: int = 0) -> message.Message:
    """A message of type ``kind`` with random fields, lists of up to three, ``depth`` bounded."""
    from google.protobuf import message_factory

    result = message_factory.GetMessageClass(kind)()
    for field in kind.fields:
        if not draw(st.booleans()):
            continue
        if field.cpp_type == FD.CPPTYPE_MESSAGE:
            if depth >= 3:
                continue
            if field.is_repeated:
                for _ in range(draw(st.integers(0, 3))):
                    getattr(result, field.name).add().CopyFrom(
                        draw(built(field.message_type, depth + 1))
                    )
            else:
                getattr(result, field.name).CopyFrom(draw(built(field.message_type, depth + 1)))
        elif field.is_repeated:
            getattr(result, field.name).extend(
                draw(st.lists(scalar(field, ["kpu", "u0", "s0"]), max_size=3))
            )
        else:
            setattr(result, field.name, draw(scalar(field, ["kpu", "u0", "s0"])))
    return result


@st.composite
def instances(draw: st.DrawFn) -> pb.Instance:
    """A malformed (or, by chance, valid) instance message."""
    if draw(st.integers(0, 9)) == 0:
        instance = draw(built(pb.Instance.DESCRIPTOR))
        assert isinstance(instance, pb.Instance)
        return instance
    instance = base_instance()
    ids = _identifiers(instance)
    for _ in range(draw(st.integers(1, 4))):
        draw(mutate(instance, ids))
    return instance


@st.composite
def options(draw: st.DrawFn) -> api.SolveOptions:
    """Solve options that are tiny when valid: a solve never runs long."""
    result = api.SolveOptions(
        time_limit_seconds=draw(
            st.one_of(
                st.sampled_from([0.05, 0.1, 0.2]),
                st.sampled_from([-1.0, -0.0, math.nan, -math.inf, -1e300]),
            )
        ),
        workers=draw(st.one_of(st.sampled_from([0, 1, 2]), _ints(INT32))),
        preset=draw(st.one_of(st.sampled_from(["", "default", "fast"]), _strings([]))),
    )
    if draw(st.booleans()):
        result.seed = draw(_ints(INT64))
    if draw(st.integers(0, 3)) == 0:
        hint = draw(built(pb.Plan.DESCRIPTOR, depth=1))
        assert isinstance(hint, pb.Plan)
        result.hint.CopyFrom(hint)
    return result


@st.composite
def whatif_requests(draw: st.DrawFn) -> api.WhatIfRequest:
    """A malformed (or, by chance, valid) what-if request on the base instance: its plan in
    force, changes and options are mutated; valid options keep any re-plan short."""
    from ringplan.v1 import whatif_pb2 as wpb

    instance = base_instance()
    request = api.WhatIfRequest(
        instance=instance,
        plan=pb.Plan(),
        changes=[
            wpb.Change(
                set_risk=wpb.SetRisk(venue=instance.venues[0].id, risk=pb.RISK_LEVEL_VERY_HIGH)
            )
        ],
        options=wpb.WhatIfOptions(time_limit_seconds=0.2),
    )
    ids = _identifiers(request)
    for _ in range(draw(st.integers(1, 4))):
        draw(mutate(request, ids))
    if request.options.time_limit_seconds > 0.5:
        request.options.time_limit_seconds = 0.2  # keep a valid re-plan short
    return request
