"""Events on `routing.decided.v1`, written by router, keyed by report id."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.contracts.common import Actor, CategoryRef, Channel, Contract, GridRef, Location, Photo, Reporter

TOPIC = "routing.decided.v1"


class RuleRef(Contract):
    rule_id: str
    ruleset_version: int
    reason: str


class RoutedReport(Contract):
    """What the workflow needs of the report itself, so it never reads intake's tables."""

    channel: Channel
    external_id: str | None = None
    reporter: Reporter
    text: str = ""
    photos: list[Photo] = Field(default_factory=list)
    address: str | None = None
    received_at: datetime
    occurred_at: datetime | None = None


class RoutingDecided(Contract):
    """A report is classified, located and assigned: the workflow files a case from it."""

    type: Literal["cityloop.routing.decided.v1"] = "cityloop.routing.decided.v1"
    report_id: str
    report: RoutedReport
    category: CategoryRef
    category_kind: Literal["component", "incident"]
    classification_confidence: float = Field(ge=0, le=1)
    location: Location | None = Field(default=None, description="always WGS84 here")
    grid: GridRef
    department_code: str
    priority: Literal["normal", "high", "urgent"] = "normal"
    deadline_profile: str = Field(description="e.g. 1515-general, 1515-complex, urgent-2h, component-A")
    whistle: bool = False
    whistle_departments: list[str] = Field(default_factory=list)
    rule: RuleRef
    decided_by: Actor | None = Field(default=None, description="set when a dispatcher decided by hand")
    level: Literal["district", "street", "community"] = Field(
        default="district", description="the handling level the rule chose (小事不出社区、大事不出街道)"
    )
    level_unit: str | None = Field(default=None, description="the street or community code of that level")


class ReportMerged(Contract):
    """A report is the same problem as an earlier one still open: it joins that report's case (并案)."""

    type: Literal["cityloop.routing.merged.v1"] = "cityloop.routing.merged.v1"
    report_id: str
    primary_report_id: str
    report: RoutedReport
    distance_m: float | None = None
    reason: str
    deadline_profile: str | None = Field(
        default=None,
        description="the merged report's own profile (what its caller is owed, e.g. 1515-complex); "
        "None from routers before it was added",
    )
    hotline_class: Literal["general", "complex"] | None = Field(
        default=None, description="12345 '1515' class of a merged hotline ticket"
    )


class ManualDispatchNeeded(Contract):
    """No rule could decide with confidence: the report waits in the dispatchers' queue."""

    type: Literal["cityloop.routing.manual.v1"] = "cityloop.routing.manual.v1"
    report_id: str
    reason: str
    candidates: list[CategoryRef] = Field(default_factory=list)
    grid: GridRef = Field(default_factory=GridRef)
