"""Events on `reports.received.v1`, written by intake, keyed by report id."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from shared.contracts.common import CategoryRef, Channel, Contract, GridRef, Photo, Place, Reporter

TOPIC = "reports.received.v1"


class ReportReceived(Contract):
    """One raw report from one channel, stored by intake before it was acknowledged."""

    type: Literal["cityloop.report.received.v1"] = "cityloop.report.received.v1"
    report_id: str
    channel: Channel
    external_id: str | None = Field(default=None, description="the channel's own id: ticket no, MsgId, alert id")
    reporter: Reporter
    text: str = ""
    category_hint: CategoryRef | None = None
    place: Place = Field(default_factory=Place)
    grid_hint: GridRef | None = Field(
        default=None, description="grid cell a registered source (camera, device) is known to stand in"
    )
    photos: list[Photo] = Field(default_factory=list)
    urgency: Literal["normal", "urgent"] = "normal"
    hotline_class: Literal["general", "complex"] | None = Field(
        default=None, description="12345 '1515' class: general = 5 working days, complex = 15"
    )
    severity: Literal["info", "minor", "major", "critical"] | None = None
    confidence: float | None = Field(default=None, ge=0, le=1)
    occurred_at: datetime | None = None
    received_at: datetime
    attributes: dict[str, Any] = Field(default_factory=dict, description="channel-specific extras")


class ReportUpdated(Contract):
    """Something new about an accepted report: a citizen's supplement, a withdrawal, an alarm's recovery, a repeat."""

    type: Literal["cityloop.report.updated.v1"] = "cityloop.report.updated.v1"
    report_id: str
    kind: Literal["supplement", "withdrawn", "recovered", "repeated"]
    text: str = ""
    photos: list[Photo] = Field(default_factory=list)
    count: int | None = Field(default=None, description="for `repeated`: how many times it fired in all")
    at: datetime
