"""CloudEvents 1.0 envelope carried on every topic."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field


class Envelope(BaseModel):
    """One bus message: CloudEvents attributes, correlation extensions and a JSON `data` body."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str
    datacontenttype: Literal["application/json"] = "application/json"
    reportid: str | None = None
    caseid: str | None = None
    data: dict[str, Any]

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json", exclude_none=True))

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate(orjson.loads(raw))
