"""12345 result feedback (办理结果): each hotline ticket of a case hears of its progress at the hotline's
configured callback URL, signed as inbound tickets are (HMAC-SHA256 over `<timestamp>.<body>`).

It rides on the webhook deliveries (durable rows, backoff, dead letters, replay, the delivery log) through
one built-in subscription with `scheme = hotline`; the body is the hotline's own document, not a CloudEvent.
Every ticket merged into the case (并案) gets its own feedback, keyed by its own ticket number, with its own
class and result due (`ticket_due_at`, `workflow.callers`; the case's handling due is `handle_due_at`).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Row

from shared.contracts import Envelope
from shared.departments import DepartmentDirectory

SHANGHAI = ZoneInfo("Asia/Shanghai")
SUBSCRIPTION_ID = "hotline-feedback"
OWNER = "system:hotline"
STATUS_OF: dict[str, str] = {
    "cityloop.case.acknowledged.v1": "acknowledged",
    "cityloop.case.handled.v1": "handled",
    "cityloop.case.closed.v1": "closed",
    "cityloop.case.returned.v1": "returned",
    "cityloop.case.extension_granted.v1": "extended",
    "cityloop.case.reopened.v1": "reopened",
    "cityloop.case.sent_back.v1": "sent_back",
}
"""Case events the hotline hears of, and the status its feedback document names."""
TIMESTAMP_HEADER = "X-Hotline-Timestamp"
SIGNATURE_HEADER = "X-Hotline-Signature"


def local(at: datetime | str | None) -> str | None:
    if at is None:
        return None
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    return when.astimezone(SHANGHAI).isoformat()


def photo_urls(photos: list[dict[str, Any]], public_base_url: str) -> list[str]:
    """Stored photos are `/v1/media/<sha256>.<ext>`: absolute with the platform's public base URL."""
    base = public_base_url.rstrip("/")
    return [p["uri"] if "://" in p["uri"] else f"{base}{p['uri']}" for p in photos if p.get("uri")]


def feedback_id(event_id: str, report_id: str) -> str:
    return f"{event_id}:{report_id}"


def render(
    envelope: Envelope, case: Row[Any], report: Row[Any], departments: DepartmentDirectory, public_base_url: str
) -> bytes:
    """The 办理结果 document of one case event for one ticket: status, text, department, times, photos."""
    data = envelope.data
    status = STATUS_OF[envelope.type]
    department = data.get("department_code") or data.get("from_department") or case.department_code
    text = {
        "handled": data.get("result"),
        "closed": case.result,
        "returned": data.get("reason"),
        "reopened": data.get("reason"),
        "sent_back": data.get("reason"),  # 退单: why the ticket is not the district's
        "extended": f"延期 {data.get('days')} 个工作日" if data.get("days") else None,
    }.get(status)
    photos = data.get("photos") if status == "handled" else (case.photos if status == "closed" else [])
    due = next((d["due_at"] for d in data.get("deadlines") or [] if d.get("kind") == "handle"), None)
    known = departments.by_code.get(department) if department else None
    doc = {
        "feedback_id": feedback_id(envelope.id, report.report_id),
        "ticket_no": report.external_id,
        "report_id": report.report_id,
        "case_no": case.case_no,
        "status": status,
        "result": text or "",
        "department_code": department,
        "department_name": known.name if known and known.name else None,
        "event_at": local(data.get("at")),
        "received_at": local(case.received_at),
        "handle_due_at": local(due),
        "closed_at": local(case.closed_at) if status == "closed" else None,
        "photos": photo_urls(photos or [], public_base_url),
        "merged": not report.is_primary,
        "hotline_class": report.hotline_class,
        "ticket_due_at": local(report.result_due_at),
    }
    return orjson.dumps(doc)


def signed_headers(secret: str, body: bytes, feedback: str, at: datetime | None = None) -> dict[str, str]:
    """The inbound ticket scheme, outward: hex HMAC-SHA256 of `<unix seconds>.<body>` (wall time)."""
    timestamp = str(int((at or datetime.now(UTC)).timestamp()))
    signature = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature,
        "X-Feedback-Id": feedback,
        "Content-Type": "application/json; charset=utf-8",
    }
