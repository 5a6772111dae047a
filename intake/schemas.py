"""HTTP models: each channel's own request format, and intake's answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, HttpUrl, StringConstraints, field_validator

from intake.adapters.common import UNSTORABLE, storable
from intake.registry import AlarmType
from shared.contracts.common import Crs

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Required = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")]
"""An id some other system gave: letters, digits and `_ . : -`, at most 64 characters."""
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 \-]{2,19}$")]
Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]


class ChannelModel(BaseModel):
    """A channel's format: unknown fields are ignored, so a sender adding fields does not break intake."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        if not isinstance(value, BaseModel) and not storable(value):  # nested models check their own fields
            raise ValueError(UNSTORABLE)
        return value


class GeoPoint(ChannelModel):
    lon: Lon
    lat: Lat
    crs: Crs = Field(default=Crs.WGS84, description="WGS84 (GPS), GCJ02 (Chinese map apps) or BD09 (Baidu)")


# --- 12345 hotline -------------------------------------------------------------------------------------------


class Caller(ChannelModel):
    name: Short | None = None
    phone: Phone | None = None


class HotlineCategory(ChannelModel):
    code: Code
    name: Short | None = None


class HotlineTicket(ChannelModel):
    """A ticket as the 12345 hotline system sends it (signed: see X-Hotline-Signature)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ticket_no": "GD20250310-0001",
                    "call_time": "2025-03-10T09:12:00+08:00",
                    "caller": {"name": "王女士", "phone": "13812345678"},
                    "content": "东直门南大街路口有人占道摆摊",
                    "address": "东城区东直门南大街5号",
                    "category": {"code": "0401", "name": "占道经营"},
                    "urgency": "normal",
                    "hotline_class": "general",
                }
            ]
        }
    )

    ticket_no: Code
    call_time: AwareDatetime
    caller: Caller = Field(default_factory=Caller)
    content: Required
    address: Short | None = None
    category: HotlineCategory | None = None
    urgency: Literal["normal", "urgent"] = "normal"
    hotline_class: Literal["general", "complex"] = Field(
        default="general", description="1515 class: general = 5 working days, complex = 15"
    )
    location: GeoPoint | None = None


class HotlineUpdate(ChannelModel):
    """A follow-up on a ticket: the citizen added information, or the hotline withdrew it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"update_id": "U1", "kind": "supplement", "text": "摊位仍在", "at": "2025-03-10T10:00:00+08:00"}
            ]
        }
    )

    update_id: Code
    kind: Literal["supplement", "withdrawn"]
    text: Text = ""
    at: AwareDatetime


# --- patrol app ----------------------------------------------------------------------------------------------


class PatrolReport(ChannelModel):
    """The form fields of a patrol report (photos travel as multipart files beside them)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "category_code": "0102",
                    "lon": 116.4342,
                    "lat": 39.9405,
                    "description": "路边暴露垃圾",
                    "occurred_at": "2025-03-10T08:20:00+08:00",
                }
            ]
        }
    )

    category_code: Code
    lon: Lon
    lat: Lat
    crs: Crs = Crs.WGS84
    description: Text = ""
    address: Short | None = None
    occurred_at: AwareDatetime | None = Field(
        default=None, description="when the inspector saw it; kept as sent for reports made offline"
    )


# --- video AI ------------------------------------------------------------------------------------------------


class VideoAlert(ChannelModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "alert_id": "A-20250310-1",
                    "camera_id": "CAM-001",
                    "algorithm": "street_vending",
                    "confidence": 0.91,
                    "captured_at": "2025-03-10T09:30:00+08:00",
                }
            ]
        }
    )

    alert_id: Code
    camera_id: Code
    algorithm: Code
    confidence: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
    captured_at: AwareDatetime
    snapshot_url: HttpUrl | None = None
    snapshot_base64: Annotated[str, StringConstraints(max_length=16 * 1024 * 1024)] | None = Field(
        default=None, description="a JPEG or PNG snapshot, base64-encoded"
    )


# --- IoT -----------------------------------------------------------------------------------------------------


class IotAlarm(ChannelModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "message_id": "M-1",
                    "device_id": "SMK-01",
                    "alarm_type": "smoke",
                    "status": "alarm",
                    "severity": "critical",
                    "at": "2025-03-10T09:30:00+08:00",
                }
            ]
        }
    )

    message_id: Code
    device_id: Code
    alarm_type: AlarmType
    status: Literal["alarm", "recovered"] = "alarm"
    severity: Literal["info", "minor", "major", "critical"] = "major"
    value: Annotated[float, Field(allow_inf_nan=False)] | None = None
    unit: Annotated[str, StringConstraints(max_length=20)] | None = None
    message: Short = ""
    at: AwareDatetime


# --- answers -------------------------------------------------------------------------------------------------

AnswerStatus = Literal["accepted", "duplicate", "repeated", "recovered", "ignored", "updated"]


class Answer(BaseModel):
    """What a channel is told. `report_id` names the report (the first one, for a duplicate)."""

    report_id: str | None
    status: AnswerStatus
    count: int | None = None
    reason: str | None = None
    field: str | None = None


class CaseView(BaseModel):
    case_id: str
    case_no: str | None = None
    state: str | None = None


class ReportView(BaseModel):
    """Where a report stands: received → routed / merged / queued → the case and its state."""

    report_id: str
    channel: str
    external_id: str | None
    received_at: datetime
    stage: Literal["received", "routed", "merged", "queued"]
    reason: str | None = None
    department_code: str | None = None
    merged_into: str | None = Field(default=None, description="the primary report this one was merged into")
    case: CaseView | None = None
    updated_at: datetime
    updates: list[dict[str, object]] = Field(default_factory=list)
