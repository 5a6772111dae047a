"""WeChat official-account messages: safe XML reading, and text/photo/location messages folded into a draft.

A citizen's messages within one session become one report (see `intake.wechat` for the session rules).
WeChat sends locations in GCJ-02 ("Mars" coordinates): they are kept as such and labelled GCJ02.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from intake.adapters.common import read
from shared.contracts.common import Channel, Crs, Location, Photo, Place, Reporter
from shared.contracts.reports import ReportReceived
from shared.errors import Invalid, TooLarge

SUBMIT_WORDS = frozenset({"提交", "完成", "submit", "done"})
CANCEL_WORDS = frozenset({"取消", "cancel"})
MAX_TEXT = 4000
MAX_PHOTOS = 9

Intent = Literal["content", "submit", "cancel", "subscribe", "unsupported", "ignore"]


def parse_xml(raw: bytes, *, max_bytes: int) -> dict[str, str]:
    """The `<xml>` children of a WeChat message as a flat dict; DTDs and entities are refused."""
    if len(raw) > max_bytes:
        raise TooLarge(f"message is {len(raw)} bytes, the limit is {max_bytes}", field="body")
    try:
        root = SafeET.fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError, LookupError) as exc:
        raise Invalid(f"not well-formed, safe XML: {exc}", field="body") from exc
    if root.tag != "xml":
        raise Invalid(f"root element must be <xml>, got <{root.tag}>", field="body")
    return {child.tag: (child.text or "") for child in root if isinstance(child.tag, str)}


def _alias(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class WeChatMessage(BaseModel):
    """One message or event pushed by the WeChat server (field names as WeChat spells them)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    to_user: str = Field(validation_alias=_alias("ToUserName"), max_length=128)
    from_user: str = Field(validation_alias=_alias("FromUserName"), min_length=1, max_length=128)
    create_time: int = Field(validation_alias=_alias("CreateTime"), ge=0, le=2**40)
    msg_type: str = Field(validation_alias=_alias("MsgType"), min_length=1, max_length=32)
    msg_id: str | None = Field(default=None, validation_alias=_alias("MsgId"), max_length=64)
    content: str | None = Field(default=None, validation_alias=_alias("Content"), max_length=MAX_TEXT)
    pic_url: str | None = Field(default=None, validation_alias=_alias("PicUrl"), max_length=1024)
    media_id: str | None = Field(default=None, validation_alias=_alias("MediaId"), max_length=256)
    lat: float | None = Field(default=None, validation_alias=_alias("Location_X"), ge=-90, le=90, allow_inf_nan=False)
    lon: float | None = Field(default=None, validation_alias=_alias("Location_Y"), ge=-180, le=180, allow_inf_nan=False)
    label: str | None = Field(default=None, validation_alias=_alias("Label"), max_length=512)
    event: str | None = Field(default=None, validation_alias=_alias("Event"), max_length=64)

    @field_validator("msg_type", "event")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.lower() if value else value

    @property
    def dedup_key(self) -> str:
        """WeChat retries a message up to 3 times: MsgId identifies it; events have FromUserName + CreateTime."""
        return self.msg_id or f"{self.from_user}:{self.create_time}:{self.event or self.msg_type}"

    @property
    def sent_at(self) -> datetime:
        return datetime.fromtimestamp(self.create_time, UTC)

    def intent(self) -> Intent:
        if self.msg_type == "text":
            word = (self.content or "").strip().lower()
            if word in SUBMIT_WORDS:
                return "submit"
            if word in CANCEL_WORDS:
                return "cancel"
            return "content" if word else "ignore"
        if self.msg_type == "image":
            return "content" if self.pic_url or self.media_id else "ignore"
        if self.msg_type == "location":
            return "content" if self.lat is not None and self.lon is not None else "ignore"
        if self.msg_type == "event":
            return "subscribe" if self.event == "subscribe" else "ignore"
        return "unsupported"


def read_message(fields: dict[str, str]) -> WeChatMessage:
    return read(WeChatMessage, fields)


class DraftLocation(BaseModel):
    lon: float
    lat: float
    label: str | None = None


class Draft(BaseModel):
    """What a citizen has sent so far in one session."""

    first_at: datetime
    texts: list[str] = Field(default_factory=list)
    photos: list[Photo] = Field(default_factory=list)
    media_ids: list[str] = Field(default_factory=list)
    location: DraftLocation | None = None
    messages: int = 0

    @property
    def empty(self) -> bool:
        return not (self.texts or self.photos or self.location)


def apply_message(draft: Draft, message: WeChatMessage) -> Draft:
    """Fold a content message into the draft; text beyond the length limit and photos beyond nine are dropped."""
    texts, photos, media_ids, location = list(draft.texts), list(draft.photos), list(draft.media_ids), draft.location
    if message.msg_type == "text" and message.content:
        room = MAX_TEXT - sum(len(t) + 1 for t in texts)
        if room > 0:
            texts.append(message.content[:room])
    elif message.msg_type == "image" and len(photos) < MAX_PHOTOS:
        if message.pic_url:
            photos.append(Photo(uri=message.pic_url, taken_at=message.sent_at))
        if message.media_id:
            media_ids.append(message.media_id)
    elif message.msg_type == "location" and message.lat is not None and message.lon is not None:
        location = DraftLocation(lon=message.lon, lat=message.lat, label=message.label or None)
    return draft.model_copy(
        update={
            "texts": texts,
            "photos": photos,
            "media_ids": media_ids,
            "location": location,
            "messages": draft.messages + 1,
        }
    )


def draft_to_report(
    draft: Draft, *, report_id: str, openid: str, received_at: datetime, filed_by: Literal["citizen", "timeout"]
) -> ReportReceived:
    place = Place()
    if draft.location is not None:
        # GCJ-02 as WeChat sent it: the router converts; labelling it WGS84 here would shift it by ~500 m.
        place = Place(
            point=Location(lon=draft.location.lon, lat=draft.location.lat, crs=Crs.GCJ02),
            address=draft.location.label,
        )
    attributes: dict[str, object] = {"filed_by": filed_by, "messages": draft.messages}
    if draft.media_ids:
        attributes["media_ids"] = draft.media_ids
    return ReportReceived(
        report_id=report_id,
        channel=Channel.WECHAT,
        external_id=report_id,
        reporter=Reporter(kind="citizen", id=openid),
        text="\n".join(draft.texts),
        place=place,
        photos=draft.photos,
        occurred_at=draft.first_at,
        received_at=received_at,
        attributes=attributes,
    )
