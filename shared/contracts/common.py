"""Value objects shared by several event contracts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Contract(BaseModel):
    """Base of every event body.

    Readers are tolerant: fields they do not know are kept, so older readers survive newer writers. Writers
    are strict: `make_envelope` refuses a body carrying a field its contract does not declare, so a misspelt
    keyword fails where the event is written instead of shipping the field's default.
    """

    model_config = ConfigDict(extra="allow", frozen=True)


class Channel(StrEnum):
    HOTLINE = "hotline"
    PATROL = "patrol"
    VIDEO = "video"
    WECHAT = "wechat"
    IOT = "iot"
    OPEN311 = "open311"


class Crs(StrEnum):
    """Coordinate reference systems met in China: GPS, the mandated 'Mars' offset, Baidu's."""

    WGS84 = "WGS84"
    GCJ02 = "GCJ02"
    BD09 = "BD09"


class Location(Contract):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    crs: Crs


class Place(Contract):
    """Where a report says it is: coordinates as received (with their CRS) and/or a free address."""

    point: Location | None = None
    address: str | None = None


class Reporter(Contract):
    kind: str = Field(description="citizen | inspector | camera | device | system")
    id: str | None = None
    name: str | None = None
    phone_masked: str | None = Field(default=None, description="e.g. 138****5678; never the full number")


class Photo(Contract):
    uri: str
    sha256: str | None = None
    content_type: str | None = None
    size: int | None = None
    taken_at: datetime | None = None


class CategoryRef(Contract):
    """A category as some scheme names it: `taxonomy` (GB/T 30428.2 code), `hotline`, `video`, `iot`, `open311`."""

    scheme: str
    code: str
    name: str | None = None


class Actor(Contract):
    id: str
    role: str
    unit: str | None = Field(default=None, description="department or street code the actor belongs to")


class GridRef(Contract):
    district_code: str | None = None
    street_code: str | None = None
    community_code: str | None = None
    cell_code: str | None = None
