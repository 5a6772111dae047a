"""HTTP request and response models of the case API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.common import Photo

Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class Command(BaseModel):
    """Every command may carry the case version it was based on (or send it as `If-Match`)."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(default=None, ge=1, description="the version you saw; a stale one gets 409")


class PhotoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uri: str = Field(min_length=1, max_length=2000)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    content_type: str | None = Field(default=None, max_length=100)
    size: int | None = Field(default=None, ge=0)
    taken_at: AwareDatetime | None = None

    def contract(self) -> Photo:
        return Photo(**self.model_dump())


class HandleIn(Command):
    result: str = Field(min_length=1, max_length=4000, description="what was done")
    photos: list[PhotoIn] = Field(default_factory=list, max_length=20)


class ReasonIn(Command):
    reason: str = Field(min_length=1, max_length=2000)


class ExtensionIn(Command):
    days: int = Field(ge=1, le=60, description="extra working days asked for")
    reason: str = Field(min_length=1, max_length=2000)


class GrantIn(Command):
    days: int | None = Field(default=None, ge=1, le=60, description="defaults to the days asked for")


class DispatchIn(Command):
    department_code: Code
    reason: str = Field(default="", max_length=2000)


class VerifyIn(Command):
    passed: bool
    note: str = Field(default="", max_length=2000)
    photos: list[PhotoIn] = Field(min_length=1, max_length=20, description="at least one on-site photo")


class WhistleIn(Command):
    departments: list[Code] = Field(min_length=1, max_length=30)
    reason: str = Field(default="", max_length=2000)


class CheckInIn(Command):
    department_code: Code | None = Field(
        default=None, description="only for callers that are not the department itself"
    )


class RateIn(Command):
    department_code: Code = Field(description="a department the case was given to or summoned")
    rating: Literal["satisfied", "basic", "unsatisfied"]
    comment: str = Field(default="", max_length=2000)


class FirstContactIn(Command):
    note: str = Field(default="", max_length=2000)
    report_id: str | None = Field(
        default=None, max_length=200, description="a merged caller's report (并案); omitted: the case's own caller"
    )


class CallbackIn(Command):
    satisfaction: Literal["satisfied", "basic", "unsatisfied"]
    channel: Literal["hotline", "wechat"] = "hotline"
    comment: str = Field(default="", max_length=2000)
    reopen: bool = Field(default=False, description="rework the case (only with unsatisfied)")


class DeadlineOut(BaseModel):
    kind: str
    department_code: str | None
    basis: str
    start_at: datetime
    due_at: datetime
    status: Literal["active", "met", "cancelled"]
    met_at: datetime | None
    on_time: bool | None
    elapsed: float | None = Field(description="share of the time used (1.0 = due); None once the clock stopped")
    traffic_light: Literal["green", "yellow", "red"] | None
    suspended: bool
    warnings: list[str]


class CheckInOut(BaseModel):
    department_code: str
    due_at: datetime
    checked_in_at: datetime | None
    on_time: bool | None
    status: Literal["active", "met", "cancelled"]


class WhistleOut(BaseModel):
    id: int
    street_code: str | None
    blown_at: datetime
    blown_by: str
    reason: str
    checkins: list[CheckInOut]


class CallerOut(BaseModel):
    """One report of the case and what its caller is owed (a merged 12345 ticket keeps its own class)."""

    report_id: str
    primary: bool
    channel: str
    external_id: str | None
    deadline_profile: str | None
    hotline_class: str | None
    received_at: datetime | None
    first_contact_due_at: datetime | None
    first_contact_at: datetime | None
    result_due_at: datetime | None
    withdrawn_at: datetime | None


class CaseOut(BaseModel):
    id: str
    case_no: str
    state: str
    version: int
    report_id: str
    report_ids: list[str]
    channel: str
    category: dict[str, Any]
    category_kind: str
    priority: str
    deadline_profile: str
    grid: dict[str, str | None]
    location: dict[str, float] | None
    address: str | None
    description: str
    department_code: str | None
    departments: list[dict[str, Any]]
    level: str = Field(description="handling level holding the case: district | street | community")
    level_unit: str | None = Field(description="the street or community code of that level")
    received_at: datetime
    filed_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    suspended_from: str | None
    extension_request: dict[str, Any] | None
    first_contact_at: datetime | None
    satisfaction: str | None
    result: str | None
    photos: list[dict[str, Any]]
    traffic_light: Literal["green", "yellow", "red"] | None = Field(
        description="worst light of the running clocks; None when closed, withdrawn or no clock runs"
    )
    deadlines: list[DeadlineOut]
    callers: list[CallerOut] = Field(default_factory=list, description="every report's caller and what it is owed")
    whistles: list[WhistleOut]
    warnings: list[str] = Field(description="e.g. a deadline computed for a year without holiday data")
    allowed_actions: list[str] = Field(description="what the caller may do now")


class CaseList(BaseModel):
    items: list[CaseOut]
    limit: int
    offset: int
    next_offset: int | None


class AuditOut(BaseModel):
    at: datetime
    version: int
    actor: dict[str, str | None]
    action: str
    from_state: str | None
    to_state: str | None
    reason: str | None
    payload: dict[str, Any]
    event_id: str | None
