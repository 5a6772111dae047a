"""Property tests: any input a channel adapter accepts yields a valid contract; no input crashes it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.adapters import hotline, iot, open311, patrol, video, wechat
from intake.adapters.common import read
from intake.registry import Algorithm, Camera, Device, Open311Attribute, Open311Service, Registry
from intake.schemas import HotlineTicket, HotlineUpdate, IotAlarm, PatrolReport, VideoAlert
from shared.contracts.common import Crs
from shared.contracts.reports import ReportReceived, ReportUpdated
from shared.errors import DomainError, Invalid
from tests.unit.intake import strategies as s

NOW = datetime(2025, 3, 10, 1, 30, tzinfo=UTC)
RID = "R20250310000001"
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REGISTRY = Registry(
    cameras={
        c.camera_id: c
        for c in [
            Camera(
                camera_id="CAM-1",
                lon=116.43,
                lat=39.94,
                cell_code="110101001001",
                algorithms=frozenset({"street_vending"}),
            ),
            Camera(camera_id="CAM-2", lon=116.41, lat=39.95, crs=Crs.GCJ02),
        ]
    },
    devices={
        d.device_id: d
        for d in [
            Device(device_id="SMK-1", alarm_type="smoke", lon=116.4, lat=39.9),
            Device(device_id="GAS-1", alarm_type="gas", lon=116.5, lat=39.8),
        ]
    },
    algorithms={
        a.code: a
        for a in [
            Algorithm(code="street_vending", name="占道经营", threshold=0.7),
            Algorithm(code="exposed_garbage", name="暴露垃圾", threshold=0.6),
        ]
    },
    services={
        "pothole": Open311Service(
            service_code="pothole",
            service_name="Pothole",
            attributes=[
                Open311Attribute(
                    code="depth",
                    datatype="singlevaluelist",
                    required=True,
                    values=[{"key": "deep", "name": "Deep"}, {"key": "shallow", "name": "Shallow"}],
                )
            ],
        )
    },
)


def round_trips(contract: ReportReceived | ReportUpdated) -> None:
    """What goes on the bus reads back as the same contract."""
    assert type(contract).model_validate_json(contract.model_dump_json()) == contract


def accepted(model: type[Any], raw: Any) -> Any:
    try:
        return read(model, raw)
    except Invalid as exc:
        assert exc.field, "every refusal names a field"
        return None


@PROPERTY
@given(raw=s.hotline_tickets)
def test_hotline_ticket_adapter(raw: dict[str, Any]) -> None:
    ticket = accepted(HotlineTicket, raw)
    if ticket is None:
        return
    report = hotline.ticket_to_report(ticket, report_id=RID, received_at=NOW)
    round_trips(report)
    assert report.external_id == ticket.ticket_no and report.hotline_class == ticket.hotline_class
    if ticket.caller.phone and sum(c.isdigit() for c in ticket.caller.phone) >= 7:
        assert ticket.caller.phone not in report.model_dump_json()
    if ticket.location:
        assert report.place.point is not None and report.place.point.crs == ticket.location.crs


@PROPERTY
@given(raw=s.hotline_updates)
def test_hotline_update_adapter(raw: dict[str, Any]) -> None:
    update = accepted(HotlineUpdate, raw)
    if update is not None:
        round_trips(hotline.update_to_event(update, report_id=RID))


@PROPERTY
@given(raw=s.patrol_forms, late=st.booleans())
def test_patrol_adapter_keeps_the_time_the_inspector_saw_it(raw: dict[str, Any], late: bool) -> None:
    form = accepted(PatrolReport, raw)
    if form is None:
        return
    report = patrol.patrol_to_report(
        form,
        inspector_id="insp-1",
        inspector_name=None,
        inspector_unit="S1",
        photos=[],
        report_id=RID,
        received_at=NOW,
        idempotency_key="k" if late else None,
    )
    round_trips(report)
    assert report.occurred_at == (form.occurred_at or NOW)
    assert report.place.point is not None and report.place.point.crs == form.crs


@PROPERTY
@given(raw=s.video_alerts)
def test_video_adapter(raw: dict[str, Any]) -> None:
    alert = accepted(VideoAlert, raw)
    if alert is None:
        return
    try:
        found = video.assess(alert, REGISTRY)
    except Invalid as exc:
        assert exc.field in ("camera_id", "algorithm")
        return
    assert found.accepted == (alert.confidence >= found.algorithm.threshold)
    report = video.alert_to_report(alert, found, snapshot=None, report_id=RID, received_at=NOW)
    round_trips(report)
    round_trips(video.repeat_event(alert, report_id=RID, count=2, snapshot=None))
    assert report.category_hint == found.algorithm.category and report.place.point == found.camera.location()


@PROPERTY
@given(raw=s.iot_alarms)
def test_iot_adapter(raw: dict[str, Any]) -> None:
    alarm = accepted(IotAlarm, raw)
    if alarm is None:
        return
    try:
        device = iot.check_device(alarm, REGISTRY.devices.get(alarm.device_id))
    except Invalid as exc:
        assert exc.field in ("device_id", "alarm_type")
        return
    report = iot.alarm_to_report(alarm, device, report_id=RID, received_at=NOW)
    round_trips(report)
    assert report.severity == alarm.severity and report.grid_hint is not None
    update = iot.alarm_update(alarm, report_id=RID, count=2)
    round_trips(update)
    assert update.kind == ("recovered" if alarm.status == "recovered" else "repeated")


form_items = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "service_code",
                "lat",
                "long",
                "address_string",
                "email",
                "phone",
                "first_name",
                "description",
                "media_url",
                "attribute[depth]",
                "attribute[]",
                "api_key",
                "x",
            ]
        ),
        st.one_of(
            st.text(max_size=30),
            st.sampled_from(["pothole", "39.9", "116.4", "deep", "a@b.c", "https://x.org/p.jpg", "-200"]),
        ),
    ),
    max_size=10,
)


@PROPERTY
@given(items=form_items)
def test_open311_adapter(items: list[tuple[str, str]]) -> None:
    try:
        request = open311.form_to_request(items)
        service = REGISTRY.services.get(request.service_code)
        if service is None:
            return
        open311.check_attributes(request, service)
    except Invalid as exc:
        assert exc.field
        return
    report = open311.request_to_report(request, service, client="fms", report_id=RID, received_at=NOW)
    round_trips(report)
    assert request.attributes.get("depth") in ("deep", "shallow")
    document = open311.request_document(
        report.model_dump(mode="json"),
        service_name="Pothole",
        status="open",
        status_notes=None,
        agency=None,
        updated_at=None,
    )
    assert document["service_request_id"] == RID and document["service_code"] == "pothole"


def wechat_xml(fields: dict[str, str]) -> bytes:
    return ("<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()) + "</xml>").encode()


wechat_fields = st.fixed_dictionaries(
    {
        "ToUserName": st.just("gh_1"),
        "FromUserName": st.sampled_from(["u1", ""]),
        "CreateTime": st.sampled_from(["1741570200", "-1", "soon"]),
        "MsgType": st.sampled_from(["text", "image", "location", "event", "voice"]),
    },
    optional={
        "Content": st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), max_size=30),
        "PicUrl": st.just("http://mmbiz.qpic.cn/p.jpg"),
        "MediaId": st.just("m"),
        "Location_X": st.sampled_from(["39.94", "91", "x"]),
        "Location_Y": st.sampled_from(["116.42", "-181"]),
        "Label": st.text(max_size=10),
        "MsgId": st.integers(0, 2**63).map(str),
        "Event": st.sampled_from(["subscribe", "LOCATION"]),
    },
)


@PROPERTY
@given(messages=st.lists(wechat_fields, min_size=1, max_size=6))
def test_wechat_messages_fold_into_a_valid_report(messages: list[dict[str, str]]) -> None:
    draft = wechat.Draft(first_at=NOW)
    for fields in messages:
        try:
            message = wechat.read_message(wechat.parse_xml(wechat_xml(fields), max_bytes=64 * 1024))
        except Invalid as exc:
            assert exc.field
            continue
        if message.intent() == "content":
            draft = wechat.apply_message(draft, message)
    report = wechat.draft_to_report(draft, report_id=RID, openid="u1", received_at=NOW, filed_by="citizen")
    round_trips(report)
    if report.place.point is not None:
        assert report.place.point.crs is Crs.GCJ02
    assert len(report.text) <= wechat.MAX_TEXT and len(report.photos) <= wechat.MAX_PHOTOS


@PROPERTY
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_wechat_parser_never_crashes_on_arbitrary_bytes(raw: bytes) -> None:
    try:
        wechat.read_message(wechat.parse_xml(raw, max_bytes=200))
    except DomainError as exc:
        assert exc.status in (413, 422) and exc.field


@PROPERTY
@given(raw=s.json_values)
def test_readers_refuse_any_json_with_a_named_field(raw: Any) -> None:
    for model in (HotlineTicket, HotlineUpdate, PatrolReport, VideoAlert, IotAlarm):
        with pytest.raises(Invalid) as refused:
            read(model, raw)
        assert refused.value.field


@pytest.mark.parametrize("text", ["a\x00b", "\ud800 lone surrogate"])
def test_text_the_database_cannot_store_is_refused_naming_the_field(text: str) -> None:
    raw = {"ticket_no": "T1", "call_time": "2025-03-10T09:00:00+08:00", "content": "ok", "caller": {"name": text}}
    with pytest.raises(Invalid) as refused:
        read(HotlineTicket, raw)
    assert refused.value.field == "caller.name"
    with pytest.raises(Invalid) as refused:
        open311.form_to_request([("service_code", "pothole"), ("lat", "1"), ("long", "2"), ("attribute[x]", text)])
    assert (refused.value.field or "").startswith("attributes")
