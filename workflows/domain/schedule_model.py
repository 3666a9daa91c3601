"""On-call schedules as configuration: layers of rotations, restrictions and overrides.

The computations over these models (who is on call, shifts, gaps) live in `schedules.py`.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, Field, model_validator

from workflows.domain.base import Strict
from workflows.domain.config_types import ClockTime, Duration, TimeWindow, TimeZoneName


class Rotation(StrEnum):
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"

    @property
    def length(self) -> timedelta:
        return {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}.get(
            self.value, timedelta(weeks=1)
        )


class Layer(Strict):
    """One rotation: participants take turns, each for one rotation length.

    The first shift starts on `start` at `handoff`, wall-clock time in `time_zone`. Rotation
    lengths of whole days (daily, weekly, `length: 2d`) hand off at the same wall-clock time every
    time, so a 09:00 handoff stays at 09:00 across DST and that shift is an hour shorter or longer.
    Other lengths (hourly, `length: 12h`) count elapsed time from the first handoff.
    `restrictions`, when given, limit the layer to those windows (in `time_zone`); outside them
    the layer has nobody and lower layers show through.
    """

    id: str
    rotation: Rotation | None = None
    length: Duration | None = None
    handoff: ClockTime = time(9, 0)
    time_zone: TimeZoneName = "UTC"
    start: date
    participants: list[str] = Field(min_length=1)
    restrictions: list[TimeWindow] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_rotation_length(self) -> Layer:
        if self.rotation is not None and self.length is not None:
            raise ValueError("give either rotation or length, not both")
        if self.length is not None and self.length < timedelta(minutes=1):
            raise ValueError("length must be at least 1m")
        return self

    @property
    def period(self) -> timedelta:
        """How long each participant's turn lasts (weekly when nothing was said)."""
        if self.length is not None:
            return self.length
        return (self.rotation or Rotation.WEEKLY).length

    @property
    def follows_wall_clock(self) -> bool:
        """Whole-day rotations hand off at the same local time; see the class docstring."""
        return self.period % timedelta(days=1) == timedelta(0)


class Override(Strict):
    """`user` is on call instead of whoever else would be, from `start` until `end`.

    Without `layer` it replaces the final answer of the schedule; with `layer` it replaces that
    layer's participant only (so higher layers still win over it).
    """

    user: str
    start: AwareDatetime
    end: AwareDatetime
    layer: str | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> Override:
        if self.end <= self.start:
            raise ValueError("override end must be after its start")
        return self


class Schedule(Strict):
    """Layers listed bottom-up: a later layer overrides an earlier one wherever it has someone."""

    id: str
    name: str = ""
    description: str = ""
    time_zone: TimeZoneName = "UTC"
    layers: list[Layer] = Field(min_length=1)
    overrides: list[Override] = Field(default_factory=list)
