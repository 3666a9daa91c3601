"""Property: a single unrestricted rotation always has exactly one person on call."""

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from workflows.domain.config_types import TimeWindow
from workflows.domain.schedule_model import Layer, Override, Schedule
from workflows.domain.schedules import gaps_between, oncall_at, shifts_between

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]

rotations = st.one_of(
    st.sampled_from([{"rotation": "hourly"}, {"rotation": "daily"}, {"rotation": "weekly"}]),
    st.integers(min_value=30, max_value=60 * 24 * 9).map(lambda m: {"length": f"{m}m"}),
    st.integers(min_value=1, max_value=4).map(lambda d: {"length": f"{d}d"}),
)


@st.composite
def layer_and_range(draw):
    rotation = draw(rotations)
    layer = Layer(
        id="only",
        time_zone=draw(st.sampled_from(ZONES)),
        handoff=f"{draw(st.integers(0, 23)):02d}:{draw(st.sampled_from([0, 15, 30, 45])):02d}",
        start=date(2024, 1, 1) + timedelta(days=draw(st.integers(0, 300))),
        participants=draw(st.lists(st.sampled_from("abcde"), min_size=1, max_size=4)),
        **rotation,
    )
    start = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 525600)))
    span = timedelta(minutes=draw(st.integers(1, 60 * 24 * 8)))
    return layer, start, start + span


@settings(max_examples=80, deadline=None)
@given(layer_and_range(), st.floats(min_value=0, max_value=1))
def test_a_gap_free_rotation_tiles_every_range_with_exactly_one_person(case, fraction):
    layer, start, end = case
    schedule = Schedule(id="s", layers=[layer])
    shifts = shifts_between(schedule, start, end)
    assert gaps_between(schedule, start, end) == []
    assert shifts[0].start == start and shifts[-1].end == end
    for earlier, later in pairwise(shifts):
        assert earlier.end == later.start
        assert earlier.user_id != later.user_id
    assert all(s.start < s.end for s in shifts)
    instant = start + (end - start) * fraction
    if instant < end:
        on_call = oncall_at(schedule, instant)
        assert len(on_call) == 1
        assert on_call == [s.user_id for s in shifts if s.start <= instant < s.end]


@st.composite
def layered_schedule(draw):
    layers = []
    for index in range(draw(st.integers(1, 3))):
        layer, _, _ = draw(layer_and_range())
        window = {"start": f"{draw(st.integers(0, 23)):02d}:00",
                  "end": f"{draw(st.integers(0, 23)):02d}:00",
                  "days": draw(st.sampled_from(["mon-fri", "everyday", "sat-sun"]))}
        restricted = draw(st.booleans())
        layers.append(layer.model_copy(update={
            "id": f"l{index}",
            "restrictions": [TimeWindow(**window)] if restricted else []}))
    base = datetime(2025, 3, 1, tzinfo=UTC)
    overrides = [
        Override(user="zed", layer=draw(st.sampled_from([None, *[lay.id for lay in layers]])),
                 start=base + timedelta(hours=h), end=base + timedelta(hours=h + length))
        for h, length in draw(st.lists(st.tuples(st.integers(0, 200), st.integers(1, 30)),
                                       max_size=3))
    ]
    return Schedule(id="s", layers=layers, overrides=overrides)


@settings(max_examples=60, deadline=None)
@given(layered_schedule(), st.integers(0, 60 * 24 * 10))
def test_layered_shifts_never_overlap_and_agree_with_oncall_at(schedule, minute):
    start = datetime(2025, 3, 1, tzinfo=UTC)
    end = start + timedelta(days=10)
    shifts = shifts_between(schedule, start, end)
    gaps = gaps_between(schedule, start, end)
    assert all(a.end <= b.start for a, b in pairwise(shifts))
    covered = sum((s.duration for s in shifts), timedelta(0))
    assert covered + sum((g.end - g.start for g in gaps), timedelta(0)) == end - start
    instant = start + timedelta(minutes=minute)
    if instant < end:
        expected = [s.user_id for s in shifts if s.start <= instant < s.end]
        assert oncall_at(schedule, instant) == expected
