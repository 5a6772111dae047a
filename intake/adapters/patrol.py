"""Reports from inspectors' patrol app."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from intake.schemas import PatrolReport
from shared.contracts.common import CategoryRef, Channel, Location, Photo, Place, Reporter
from shared.contracts.reports import ReportReceived


def patrol_to_report(
    form: PatrolReport,
    *,
    inspector_id: str,
    inspector_name: str | None,
    inspector_unit: str | None,
    photos: Sequence[Photo],
    report_id: str,
    received_at: datetime,
    idempotency_key: str | None = None,
) -> ReportReceived:
    """A report made offline keeps the time the inspector saw it (`occurred_at`), not the upload time."""
    attributes: dict[str, object] = {}
    if inspector_unit:
        attributes["inspector_unit"] = inspector_unit
    if idempotency_key:
        attributes["idempotency_key"] = idempotency_key
    if form.occurred_at is not None:
        attributes["uploaded_late_s"] = max(0, int((received_at - form.occurred_at).total_seconds()))
    return ReportReceived(
        report_id=report_id,
        channel=Channel.PATROL,
        external_id=idempotency_key,
        reporter=Reporter(kind="inspector", id=inspector_id, name=inspector_name),
        text=form.description,
        category_hint=CategoryRef(scheme="taxonomy", code=form.category_code),
        place=Place(point=Location(lon=form.lon, lat=form.lat, crs=form.crs), address=form.address or None),
        photos=list(photos),
        occurred_at=form.occurred_at or received_at,
        received_at=received_at,
        attributes=attributes,
    )
