"""HTTP answers of the analytics API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class ScoreValue(_Out):
    value: float | None
    numerator: int | None = None
    denominator: int | None = None


class KpiRow(_Out):
    period: str | None = Field(default=None, description="day (YYYY-MM-DD), Monday of the week, or month (YYYY-MM)")
    key: str | None = Field(description="the group: a department, street, community, cell, category, channel or period")
    scores: dict[str, ScoreValue]


class Window(_Out):
    from_: datetime = Field(alias="from", description="inclusive: cases filed at or after")
    to: datetime = Field(description="exclusive: cases filed before")
    as_of: datetime = Field(description="deadlines that passed before this count as missed")


class KpiAnswer(Window):
    dimension: str
    filters: dict[str, str]
    rows: list[KpiRow]


class RankedRow(KpiRow):
    rank: int = Field(description="1 is best; equal values share a rank")
    value: float


class Ranking(Window):
    dimension: str
    score: str
    higher_is_better: bool
    filters: dict[str, str]
    rows: list[RankedRow]
    unranked: list[str | None] = Field(description="groups with no denominator for this score")


class Series(Window):
    interval: str
    dimension: str
    filters: dict[str, str]
    points: list[KpiRow]


class ScoreDefinition(_Out):
    name: str
    title: str
    kind: str
    source: str
    higher_is_better: bool
    weight: float | None = Field(default=None, description="weight in the composite score, if it is part of it")


class Definitions(_Out):
    scores: list[ScoreDefinition]
    timezone: str
    filing_limit_minutes: int
    closing_limit_hours: float
    recurrence_days: int


class Hotspot(_Out):
    week: str = Field(description="Monday of the week, local time")
    category_code: str
    cell_code: str
    cases: int
    recurring: int = Field(description="of these cases, how many recur (回潮)")
    rank: int


class Hotspots(Window):
    days: int
    top: int
    filters: dict[str, str]
    rows: list[Hotspot]


class Recurrence(_Out):
    case_id: str
    case_no: str
    cell_code: str
    category_code: str
    filed_at: datetime
    previous_case_id: str
    previous_closed_at: datetime


class Recurrences(Window):
    days: int
    filters: dict[str, str]
    rows: list[Recurrence]


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: str = Field(description="a score of GET /v1/kpis/definitions", examples=["closure_rate"])
    scope: Literal["total", "department", "street"] = Field(description="the whole city, a department or a street")
    unit: str | None = Field(default=None, max_length=64, description="department or street code; none for total")
    period: str = Field(max_length=7, description="YYYY, YYYY-Qn or YYYY-MM (local calendar)", examples=["2026"])
    value: float = Field(description="rates as fractions (0.98), composite 0-100, counts, hours", allow_inf_nan=False)
    note: str | None = Field(default=None, max_length=500)


class Target(_Out):
    target_id: str
    score: str
    scope: str
    unit: str | None
    period: str
    value: float
    note: str | None
    set_by: str
    set_at: datetime


class TargetChange(_Out):
    change_id: int
    target_id: str
    action: Literal["set", "changed", "deleted"]
    old_value: float | None
    new_value: float | None
    note: str | None
    actor: str
    at: datetime


class TargetProgress(Target):
    higher_is_better: bool
    actual: float | None = Field(description="the score over the cases filed in the period so far")
    gap: float | None = Field(description="actual past the target, positive when ahead")
    projection: float | None = Field(description="where the score is heading at the period's end")
    at_risk: bool = Field(description="the projection misses the target (or there is nothing to judge yet)")
    elapsed: float = Field(description="share of the period gone by, 0-1")


class TargetProgressAnswer(_Out):
    period: str
    from_: datetime = Field(alias="from")
    to: datetime
    as_of: datetime
    rows: list[TargetProgress]


class Indicators(Window):
    period: str
    dimension: str
    rows: list[KpiRow]
