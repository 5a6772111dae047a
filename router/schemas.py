"""HTTP models of the router API: rules admin, dry run, dispatchers' queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.common import CategoryRef, GridRef
from shared.contracts.reports import ReportReceived


class RuleSetOut(BaseModel):
    version: int
    name: str
    yaml: str
    source: str
    created_by: str
    created_at: datetime
    comment: str = ""
    rules: list[dict[str, Any]] = Field(default_factory=list, description="the rules in precedence order")


class RuleSetVersion(BaseModel):
    version: int
    name: str
    source: str
    created_by: str
    created_at: datetime
    comment: str = ""
    diff: str = Field(default="", description="unified diff against the previous version")


class RuleSetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    yaml: str = Field(min_length=1, max_length=1_000_000, description="the whole rule document")
    comment: str = Field(default="", max_length=2000)
    expected_version: int | None = Field(
        default=None, description="refuse with 409 if the rules in force are no longer this version"
    )


class DryRunReport(ReportReceived):
    """A report as intake would publish it; id and time may be left out."""

    report_id: str = "dry-run"
    received_at: datetime | None = None  # type: ignore[assignment]


class DryRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    report: DryRunReport
    rules_yaml: str | None = Field(
        default=None, max_length=1_000_000, description="a proposed rule set; omitted: the rules in force"
    )


class DryRunOut(BaseModel):
    outcome: Literal["routed", "merged", "manual"]
    rule_id: str
    ruleset_version: int
    reason: str
    event: dict[str, Any] = Field(description="the body that would be published on routing.decided.v1")
    classification: dict[str, Any]
    located: dict[str, Any]
    local_time: datetime
    night: bool
    holiday: bool


class QueueItem(BaseModel):
    report_id: str
    status: Literal["waiting", "claimed", "dispatched", "withdrawn"]
    reason: str
    candidates: list[CategoryRef]
    grid: GridRef
    lon: float | None = None
    lat: float | None = None
    report: dict[str, Any]
    notes: list[dict[str, Any]] = Field(default_factory=list, description="citizen supplements received since")
    queued_at: datetime
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None


class QueuePage(BaseModel):
    items: list[QueueItem]
    waiting: int = Field(description="reports waiting or claimed, in all")


class DispatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str = Field(min_length=1, max_length=20, description="taxonomy id, e.g. C0101 or I0502")
    department: str = Field(min_length=1, max_length=64)
    deadline_profile: str | None = Field(default=None, description="default: the category's profile")
    priority: Literal["normal", "high", "urgent"] = "normal"
    reason: str = Field(min_length=2, max_length=2000)
    whistle: bool = False
    whistle_departments: list[str] = Field(default_factory=list, max_length=20)
    cell_code: str | None = Field(default=None, max_length=32, description="place it here when it was not located")


class DispatchOut(BaseModel):
    report_id: str
    event: dict[str, Any]
