"""Alarms from registered IoT devices (smoke, gas, water level, manhole cover tilt)."""

from __future__ import annotations

from datetime import datetime

from intake.registry import Device
from intake.schemas import IotAlarm
from shared.contracts.common import CategoryRef, Channel, Place, Reporter
from shared.contracts.reports import ReportReceived, ReportUpdated
from shared.errors import Invalid

ALARM_NAMES = {
    "smoke": "烟感报警",
    "gas": "燃气泄漏报警",
    "water_level": "积水水位报警",
    "manhole_tilt": "井盖倾斜报警",
}


def check_device(alarm: IotAlarm, device: Device | None) -> Device:
    """Only registered devices may raise alarms, and only of their own kind."""
    if device is None:
        raise Invalid(f"device {alarm.device_id!r} is not registered", field="device_id")
    if device.alarm_type != alarm.alarm_type:
        raise Invalid(
            f"device {device.device_id!r} is a {device.alarm_type} sensor, not {alarm.alarm_type}", field="alarm_type"
        )
    return device


def alarm_to_report(alarm: IotAlarm, device: Device, *, report_id: str, received_at: datetime) -> ReportReceived:
    measured = f"（{alarm.value:g}{alarm.unit or ''}）" if alarm.value is not None else ""
    name = ALARM_NAMES[alarm.alarm_type]
    text = f"{device.name or device.device_id} {name}{measured}" + (f"：{alarm.message}" if alarm.message else "")
    attributes: dict[str, object] = {"device_id": device.device_id, "message_id": alarm.message_id}
    if device.owner:
        attributes["owner"] = device.owner
    if alarm.value is not None:
        attributes["value"] = alarm.value
        attributes["unit"] = alarm.unit
    return ReportReceived(
        report_id=report_id,
        channel=Channel.IOT,
        external_id=alarm.message_id,
        reporter=Reporter(kind="device", id=device.device_id, name=device.name or None),
        text=text,
        category_hint=CategoryRef(scheme="iot", code=alarm.alarm_type, name=name),
        place=Place(point=device.location(), address=device.address),
        grid_hint=device.grid(),
        urgency="urgent" if alarm.severity == "critical" else "normal",
        severity=alarm.severity,
        occurred_at=alarm.at,
        received_at=received_at,
        attributes=attributes,
    )


def alarm_update(alarm: IotAlarm, *, report_id: str, count: int | None = None) -> ReportUpdated:
    """A recovery closes the alarm; another alarm while it is open is a repeat."""
    if alarm.status == "recovered":
        return ReportUpdated(report_id=report_id, kind="recovered", text=alarm.message or "设备报警已恢复", at=alarm.at)
    return ReportUpdated(report_id=report_id, kind="repeated", text=alarm.message, count=count, at=alarm.at)
