"""12345 hotline tickets and their follow-ups."""

from __future__ import annotations

from datetime import datetime

from intake.pii import mask_name, mask_phone
from intake.schemas import HotlineTicket, HotlineUpdate
from shared.contracts.common import CategoryRef, Channel, Location, Place, Reporter
from shared.contracts.reports import ReportReceived, ReportUpdated


def ticket_to_report(ticket: HotlineTicket, *, report_id: str, received_at: datetime) -> ReportReceived:
    """The caller's phone and name leave here masked; the full ones are sealed separately (`ticket_contact`)."""
    point = ticket.location
    return ReportReceived(
        report_id=report_id,
        channel=Channel.HOTLINE,
        external_id=ticket.ticket_no,
        reporter=Reporter(
            kind="citizen", name=mask_name(ticket.caller.name), phone_masked=mask_phone(ticket.caller.phone)
        ),
        text=ticket.content,
        category_hint=(
            CategoryRef(scheme="hotline", code=ticket.category.code, name=ticket.category.name)
            if ticket.category
            else None
        ),
        place=Place(
            point=Location(lon=point.lon, lat=point.lat, crs=point.crs) if point else None,
            address=ticket.address or None,
        ),
        urgency=ticket.urgency,
        hotline_class=ticket.hotline_class,
        occurred_at=ticket.call_time,
        received_at=received_at,
        attributes={"call_time": ticket.call_time.isoformat()},
    )


def ticket_contact(ticket: HotlineTicket) -> dict[str, str]:
    return {k: v for k, v in (("phone", ticket.caller.phone), ("name", ticket.caller.name)) if v}


def update_to_event(update: HotlineUpdate, *, report_id: str) -> ReportUpdated:
    return ReportUpdated(report_id=report_id, kind=update.kind, text=update.text, at=update.at)
