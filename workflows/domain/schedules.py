"""Who is on call, when: shifts, gaps and the answer at one instant, computed from a `Schedule`.

Pure functions over the models in `schedule_model.py`. Every datetime in and out is timezone-aware;
results are in UTC. Wall-clock arithmetic (handoffs, restrictions) goes through zoneinfo, so DST
changes move instants, never the local handoff time.

How a schedule resolves, bottom to top:
1. each layer's rotation gives a participant per turn, cut to the layer's restrictions;
2. overrides naming a layer replace that layer's participant where the layer has someone;
3. a later layer replaces an earlier one wherever it has someone;
4. overrides without a layer replace whoever is on, and fill gaps too.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime, timedelta

from workflows.domain.base import Frozen
from workflows.domain.config_types import UTC, Interval, local_instant, zone
from workflows.domain.schedule_model import Layer, Override, Schedule

OVERRIDE_LAYER = "override"


class Shift(Frozen):
    """`user_id` is on call in [start, end) (UTC) because of `layer` (a layer id or `override`)."""

    user_id: str
    start: datetime
    end: datetime
    layer: str

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


def oncall_at(schedule: Schedule, at: datetime) -> list[str]:
    """User ids on call at instant `at`: one user, or none in a gap."""
    moment = _utc(at)
    shifts = shifts_between(schedule, moment, moment + timedelta(microseconds=1))
    return [shift.user_id for shift in shifts]


def shifts_between(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """The final shifts overlapping [start, end), clipped to it, in time order.

    Adjacent shifts of the same user from the same layer are merged, so a one-person rotation is
    one shift. Shifts never overlap; where nobody is on call there is no shift (see `gaps_between`).
    """
    start, end = _utc(start), _utc(end)
    if end <= start:
        return []
    combined: list[Shift] = []
    for layer in schedule.layers:
        pieces = _layer_shifts(layer, start, end)
        named = [o for o in schedule.overrides if o.layer == layer.id]
        pieces = _replace_users(pieces, _override_shifts(named, start, end))
        combined = _paint(combined, pieces)
    general = [o for o in schedule.overrides if o.layer is None]
    combined = _paint(combined, _override_shifts(general, start, end))
    return _merge(combined)


def gaps_between(schedule: Schedule, start: datetime, end: datetime) -> list[Interval]:
    """The parts of [start, end) when nobody is on call, in time order."""
    start, end = _utc(start), _utc(end)
    gaps: list[Interval] = []
    cursor = start
    for shift in shifts_between(schedule, start, end):
        if shift.start > cursor:
            gaps.append(Interval(start=cursor, end=shift.start))
        cursor = max(cursor, shift.end)
    if cursor < end:
        gaps.append(Interval(start=cursor, end=end))
    return gaps


# ---- one layer ---------------------------------------------------------------------------------


def turn_start(layer: Layer, turn: int) -> datetime:
    """UTC instant at which turn number `turn` (0 = the first shift) begins."""
    tz = zone(layer.time_zone)
    if layer.follows_wall_clock:
        days = layer.period.days * turn
        return local_instant(layer.start + timedelta(days=days), layer.handoff, tz)
    return local_instant(layer.start, layer.handoff, tz) + layer.period * turn


def turn_at(layer: Layer, at: datetime) -> int:
    """The turn number in progress at `at` (negative before the layer starts)."""
    at = _utc(at)
    if not layer.follows_wall_clock:
        return (at - turn_start(layer, 0)) // layer.period
    local_day = at.astimezone(zone(layer.time_zone)).date()
    turn = (local_day - layer.start).days // layer.period.days
    # The turn containing `at` may begin on an earlier day when `at` is before today's handoff.
    while at < turn_start(layer, turn):
        turn -= 1
    while at >= turn_start(layer, turn + 1):
        turn += 1
    return turn


def _layer_shifts(layer: Layer, start: datetime, end: datetime) -> list[Shift]:
    """The layer's rotation within [start, end), cut to its restrictions."""
    turn = max(turn_at(layer, start), 0)
    shifts: list[Shift] = []
    begins = turn_start(layer, turn)
    while begins < end:
        ends = turn_start(layer, turn + 1)
        user = layer.participants[turn % len(layer.participants)]
        if ends > start:
            shifts.append(Shift(user_id=user, start=max(begins, start), end=min(ends, end),
                                layer=layer.id))
        turn, begins = turn + 1, ends
    if not layer.restrictions:
        return shifts
    return _restrict(shifts, _windows(layer, start, end))


def _windows(layer: Layer, start: datetime, end: datetime) -> list[Interval]:
    """Union of the layer's restriction windows over [start, end), sorted and disjoint."""
    tz = zone(layer.time_zone)
    found = sorted(
        (iv for window in layer.restrictions for iv in window.occurrences(tz, start, end)),
        key=lambda iv: iv.start,
    )
    union: list[Interval] = []
    for iv in found:
        if union and iv.start <= union[-1].end:
            if iv.end > union[-1].end:
                union[-1] = Interval(start=union[-1].start, end=iv.end)
        else:
            union.append(iv)
    return union


def _restrict(shifts: list[Shift], windows: list[Interval]) -> list[Shift]:
    """Each shift cut to the (sorted, disjoint) windows it overlaps."""
    result: list[Shift] = []
    window_ends = [w.end for w in windows]
    for shift in shifts:
        for window in windows[bisect_right(window_ends, shift.start):]:
            if window.start >= shift.end:
                break
            lo, hi = max(shift.start, window.start), min(shift.end, window.end)
            result.append(shift.model_copy(update={"start": lo, "end": hi}))
    return result


def _override_shifts(overrides: list[Override], start: datetime, end: datetime) -> list[Shift]:
    shifts = [
        Shift(user_id=o.user, start=max(_utc(o.start), start), end=min(_utc(o.end), end),
              layer=o.layer or OVERRIDE_LAYER)
        for o in overrides
        if _utc(o.start) < end and _utc(o.end) > start
    ]
    # Overlapping overrides are a configuration error; here the later-listed one wins.
    return _disjoint(shifts)


# ---- combining ---------------------------------------------------------------------------------


def _paint(lower: list[Shift], upper: list[Shift]) -> list[Shift]:
    """`upper` (sorted, disjoint) laid over `lower`: lower survives only where upper is not."""
    ends = [c.end for c in upper]
    result = list(upper)
    for piece in lower:
        result.extend(_subtract(piece, upper, ends))
    return sorted(result, key=lambda s: s.start)


def _disjoint(shifts: list[Shift]) -> list[Shift]:
    """Sorted, non-overlapping version of `shifts`; later entries win where they overlap."""
    result: list[Shift] = []
    for shift in shifts:
        cover = [shift]
        result = [piece for kept in result for piece in _subtract(kept, cover, [shift.end])]
        result.append(shift)
    return sorted(result, key=lambda s: s.start)


def _subtract(piece: Shift, cover: list[Shift], ends: list[datetime]) -> list[Shift]:
    """The parts of `piece` not covered by `cover` (sorted and disjoint; `ends` its ends)."""
    remaining: list[Shift] = []
    cursor = piece.start
    first = bisect_right(ends, piece.start)
    for c in cover[first:]:
        if c.start >= piece.end:
            break
        if c.start > cursor:
            remaining.append(piece.model_copy(update={"start": cursor, "end": c.start}))
        cursor = max(cursor, c.end)
    if cursor < piece.end:
        remaining.append(piece.model_copy(update={"start": cursor, "end": piece.end}))
    return remaining


def _replace_users(pieces: list[Shift], replacements: list[Shift]) -> list[Shift]:
    """Within `pieces` only, the replacement's user takes the time it covers."""
    swapped = [
        r.model_copy(update={"start": max(p.start, r.start), "end": min(p.end, r.end)})
        for p in pieces
        for r in replacements
        if max(p.start, r.start) < min(p.end, r.end)
    ]
    return _paint(pieces, sorted(swapped, key=lambda s: s.start))


def _merge(shifts: list[Shift]) -> list[Shift]:
    merged: list[Shift] = []
    for shift in shifts:
        last = merged[-1] if merged else None
        if last and (last.user_id, last.layer, last.end) == (shift.user_id, shift.layer,
                                                             shift.start):
            merged[-1] = last.model_copy(update={"end": shift.end})
        else:
            merged.append(shift)
    return merged


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("schedule times must be timezone-aware")
    return at.astimezone(UTC)
