"""Intake's logic: every channel's report is stored and staged in the outbox in the caller's transaction.

Nothing here commits: the endpoint commits, then answers — so an acknowledged report is never lost.
First acceptance answers 202; a retry of something already accepted answers 200 naming the first report.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from intake import repository as repo
from intake.adapters import hotline, iot, open311, patrol, video
from intake.config import IntakeSettings
from intake.photos import MEDIA_ROUTE, PhotoStore
from intake.pii import ContactVault
from intake.registry import Open311Service, Registry
from intake.schemas import (
    Answer,
    CaseView,
    HotlineTicket,
    HotlineUpdate,
    IotAlarm,
    PatrolReport,
    ReportView,
    VideoAlert,
)
from intake.signing import SIGNATURE_HEADER
from shared.auth import Principal
from shared.batching import GroupCommit
from shared.clock import Clock
from shared.contracts.common import Photo
from shared.contracts.reports import ReportReceived, ReportUpdated
from shared.db.outbox import Outbox
from shared.errors import Conflict, Gone, Invalid, NotFound
from shared.logging import get_logger
from shared.settings import Settings

ACCEPTED, ALREADY = 202, 200
log = get_logger(__name__)
REPORT_NUMBER_BLOCK = 100
"""Report numbers one process takes from the sequence at a time."""


@dataclass(frozen=True)
class Outcome:
    answer: Answer
    status_code: int


@dataclass(frozen=True, slots=True)
class Admission:
    """A report on its way in: what makes it unique (an idempotency key, a signature that must not replay)
    and how to build it once its batch has given it an id."""

    build: Callable[[str], ReportReceived]
    contact: dict[str, str] | None = None
    claim: tuple[str, str] | None = None
    signature: str | None = None


def request_hash(*parts: Any) -> str:
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()


class Intake:
    """The service object endpoints, handlers and workers share (kept in `runtime.services["intake"]`)."""

    def __init__(
        self,
        *,
        config: IntakeSettings,
        settings: Settings,
        registry: Registry,
        vault: ContactVault,
        photos: PhotoStore,
        clock: Clock,
        outbox: Outbox,
        transaction: Callable[[], AbstractAsyncContextManager[AsyncSession]],
    ) -> None:
        self.config = config
        self.settings = settings
        self.registry = registry
        self.vault = vault
        self.photos = photos
        self.clock = clock
        self.outbox = outbox
        self.transaction = transaction
        """A committed unit of work of the service (`ServiceRuntime.transaction`), for the group commits."""
        self.admissions: GroupCommit[Admission, Outcome] = GroupCommit(
            self._admit, linger_s=settings.group_commit_linger_ms / 1000
        )
        self._zone = ZoneInfo(config.timezone)
        self._numbers: deque[int] = deque()
        """Report numbers taken from the sequence ahead of need (`new_report_ids`)."""

    def now(self) -> datetime:
        return self.clock.now()

    def check_time(self, channel: str, field: str, value: datetime) -> None:
        """A channel's event time must lie in [now − that channel's max age, now + allowed skew] (city clock)."""
        now = self.now()
        earliest = now - timedelta(days=self.config.max_age_days.get(channel, 7))
        latest = now + timedelta(seconds=self.config.future_skew_s)
        if not earliest <= value <= latest:
            raise Invalid(
                f"{field} {value.isoformat()} is outside [{earliest.isoformat(timespec='seconds')}, "
                f"{latest.isoformat(timespec='seconds')}]: at most {self.config.max_age_days.get(channel, 7)} days "
                f"old for {channel}, and at most {self.config.future_skew_s} s ahead of the city clock",
                field=field,
            )

    # --- the two things every channel does ---------------------------------------------------------------------

    async def new_report_id(self, session: AsyncSession) -> str:
        return (await self.new_report_ids(session, 1))[0]

    async def new_report_ids(self, session: AsyncSession, n: int) -> list[str]:
        """`R` + local date + sequence, e.g. R20250310000042: short enough to read out over the phone.

        The numbers come from the sequence a block at a time (one round trip per `REPORT_NUMBER_BLOCK`
        reports, not one per group commit). Like any sequence they were never gapless; now a restart also
        leaves the rest of its block unused, and replicas interleave their blocks, so numbers are unique but
        not in order of arrival across processes."""
        while len(self._numbers) < n:
            self._numbers.extend(await repo.next_report_numbers(session, max(n, REPORT_NUMBER_BLOCK)))
        day = f"{self.now().astimezone(self._zone):%Y%m%d}"
        return [f"R{day}{self._numbers.popleft():06d}" for _ in range(n)]

    async def file(self, session: AsyncSession, report: ReportReceived, contact: dict[str, str] | None = None) -> None:
        await self.file_many(session, [(report, contact)])

    async def file_many(
        self, session: AsyncSession, items: Sequence[tuple[ReportReceived, dict[str, str] | None]]
    ) -> None:
        """Store the reports (contact details sealed under each report's own key) and stage their events."""
        stored = []
        for report, contact in items:
            sealed = self.vault.seal(report.report_id, contact or {})
            stored.append(
                repo.StoredReport(
                    report_id=report.report_id,
                    channel=report.channel.value,
                    external_id=report.external_id,
                    body=report.model_dump(mode="json", exclude_none=True),
                    received_at=report.received_at,
                    contact_sealed=sealed.ciphertext if sealed else None,
                    wrapped_key=sealed.wrapped_key if sealed else None,
                    photo_names=media_names(report.photos),
                )
            )
        await repo.insert_reports(session, stored)
        for report, _ in items:
            await self.outbox.add(session, report, subject=report.report_id)

    async def add_update(self, session: AsyncSession, event: ReportUpdated) -> None:
        await repo.insert_update(
            session, report_id=event.report_id, kind=event.kind, body=event.model_dump(mode="json"), at=event.at
        )
        await repo.add_photos(session, event.report_id, media_names(event.photos))
        await self.outbox.add(session, event, subject=event.report_id)

    async def _remembered(self, session: AsyncSession, scope: str, key: str, answer: Answer) -> Answer:
        await repo.remember_response(session, scope, key, answer.model_dump(mode="json"))
        return answer

    # --- 12345 hotline -----------------------------------------------------------------------------------------

    async def refuse_replay(self, session: AsyncSession, signature: str) -> None:
        if not await repo.record_signature(session, signature, self.now()):
            raise Conflict("this signed request was already received (replay)", field=SIGNATURE_HEADER)

    async def hotline_ticket(self, ticket: HotlineTicket, signature: str) -> Outcome:
        """Admitted with the tickets that arrive at the same moment (group commit): a 12345 peak costs one
        transaction per batch, not one per ticket."""
        self.check_time("hotline", "call_time", ticket.call_time)
        return await self.admissions.submit(
            Admission(
                build=lambda report_id: hotline.ticket_to_report(ticket, report_id=report_id, received_at=self.now()),
                contact=hotline.ticket_contact(ticket),
                claim=("hotline-ticket", ticket.ticket_no),
                signature=signature,
            )
        )

    async def _admit(self, admissions: Sequence[Admission]) -> list[Outcome | Exception]:
        """One transaction for a batch: ids, replay guard, idempotency claims, reports and their events, each
        one statement for the whole batch. A replay is refused, a known key answers with its first report."""
        outcomes: list[Outcome | Exception | None] = [None] * len(admissions)
        async with self.transaction() as session:
            ids = await self.new_report_ids(session, len(admissions))
            reports: dict[int, ReportReceived] = {}
            for i, admission in enumerate(admissions):
                try:
                    reports[i] = admission.build(ids[i])
                except Exception as error:  # refused before anything of it is written
                    outcomes[i] = error
            signed = {i: a.signature for i, a in enumerate(admissions) if a.signature and i in reports}
            fresh = await repo.record_signatures(session, list(signed.values()), self.now()) if signed else set()
            for i, signature in signed.items():
                if signature in fresh:
                    fresh.discard(signature)  # a second copy in the same batch is a replay too
                else:
                    outcomes[i] = Conflict("this signed request was already received (replay)", field=SIGNATURE_HEADER)
            claims = {i: a.claim for i, a in enumerate(admissions) if a.claim and outcomes[i] is None and i in reports}
            held = await repo.claim_many(session, [(*claim, ids[i]) for i, claim in claims.items()])
            for i, claim in claims.items():
                if held[claim] != ids[i]:
                    outcomes[i] = Outcome(Answer(report_id=held[claim], status="duplicate"), ALREADY)
            admitted = [i for i in reports if outcomes[i] is None]
            await self.file_many(session, [(reports[i], admissions[i].contact) for i in admitted])
        for i in admitted:
            outcomes[i] = Outcome(Answer(report_id=ids[i], status="accepted"), ACCEPTED)
        return [o if o is not None else RuntimeError("admission left undecided") for o in outcomes]

    async def hotline_update(
        self, session: AsyncSession, ticket_no: str, update: HotlineUpdate, signature: str
    ) -> Outcome:
        self.check_time("hotline", "at", update.at)
        await self.refuse_replay(session, signature)
        ticket = await repo.find_claim(session, "hotline-ticket", ticket_no)
        if ticket is None or ticket.report_id is None:
            raise NotFound(f"no ticket {ticket_no!r} was received", field="ticket_no")
        first = await repo.claim(
            session, "hotline-update", f"{ticket_no}/{update.update_id}", report_id=ticket.report_id
        )
        if first is not None:
            return Outcome(Answer(report_id=ticket.report_id, status="duplicate"), ALREADY)
        await self.add_update(session, hotline.update_to_event(update, report_id=ticket.report_id))
        return Outcome(Answer(report_id=ticket.report_id, status="updated"), ACCEPTED)

    # --- patrol ------------------------------------------------------------------------------------------------

    async def patrol_report(
        self,
        session: AsyncSession,
        form: PatrolReport,
        inspector: Principal,
        photos: list[Photo],
        idempotency_key: str | None,
    ) -> Outcome:
        now = self.now()
        if form.occurred_at is not None:
            self.check_time("patrol", "occurred_at", form.occurred_at)
        report_id = await self.new_report_id(session)
        if idempotency_key:
            fingerprint = request_hash(form.model_dump(mode="json"), [p.sha256 for p in photos])
            first = await repo.claim(
                session,
                "patrol",
                f"{inspector.subject}/{idempotency_key}",
                report_id=report_id,
                request_hash=fingerprint,
            )
            if first is not None:
                if first.request_hash != fingerprint:
                    raise Conflict("Idempotency-Key was already used for a different report", field="Idempotency-Key")
                return Outcome(Answer(report_id=first.report_id, status="duplicate"), ALREADY)
        report = patrol.patrol_to_report(
            form,
            inspector_id=inspector.subject,
            inspector_name=inspector.name,
            inspector_unit=inspector.unit,
            photos=photos,
            report_id=report_id,
            received_at=now,
            idempotency_key=idempotency_key,
        )
        await self.file(session, report)
        return Outcome(Answer(report_id=report_id, status="accepted"), ACCEPTED)

    # --- video AI ----------------------------------------------------------------------------------------------

    async def video_alert(self, session: AsyncSession, alert: VideoAlert, snapshot: Photo | None) -> Outcome:
        self.check_time("video", "captured_at", alert.captured_at)
        found = video.assess(alert, self.registry)
        scope, key = "video-alert", alert.alert_id
        seen = await repo.claim(session, scope, key, report_id=None)
        if seen is not None:
            return _again(seen)
        if not found.accepted:
            answer = Answer(report_id=None, status="ignored", reason=found.reason, field="confidence")
            return Outcome(await self._remembered(session, scope, key, answer), ALREADY)
        camera, algorithm = alert.camera_id, alert.algorithm
        await repo.lock(session, "video", camera, algorithm)
        streak = await repo.get_streak(session, camera, algorithm)
        window = timedelta(seconds=self.config.video_repeat_window_s)
        if streak is not None and abs(alert.captured_at - streak.last_at) <= window:
            count = await repo.extend_streak(session, camera, algorithm, alert.captured_at)
            await self.add_update(
                session, video.repeat_event(alert, report_id=streak.report_id, count=count, snapshot=snapshot)
            )
            answer = Answer(report_id=streak.report_id, status="repeated", count=count)
            return Outcome(await self._remembered(session, scope, key, answer), ALREADY)
        report_id = await self.new_report_id(session)
        await self.file(
            session, video.alert_to_report(alert, found, snapshot=snapshot, report_id=report_id, received_at=self.now())
        )
        await repo.start_streak(session, camera, algorithm, report_id, alert.captured_at)
        answer = Answer(report_id=report_id, status="accepted", count=1)
        return Outcome(await self._remembered(session, scope, key, answer), ACCEPTED)

    # --- IoT ---------------------------------------------------------------------------------------------------

    async def iot_alarm(self, session: AsyncSession, alarm: IotAlarm) -> Outcome:
        self.check_time("iot", "at", alarm.at)
        device = iot.check_device(alarm, self.registry.devices.get(alarm.device_id))
        scope, key = "iot-message", f"{alarm.device_id}/{alarm.message_id}"
        seen = await repo.claim(session, scope, key, report_id=None)
        if seen is not None:
            return _again(seen)
        await repo.lock(session, "iot", device.device_id, alarm.alarm_type)
        current = await repo.open_alarm(session, device.device_id, alarm.alarm_type)
        if alarm.status == "recovered":
            if current is None:
                answer = Answer(
                    report_id=None,
                    status="ignored",
                    field="status",
                    reason=f"no open {alarm.alarm_type} alarm on device {device.device_id}",
                )
                return Outcome(await self._remembered(session, scope, key, answer), ALREADY)
            await repo.recover_alarm(session, current.report_id, alarm.at)
            await self.add_update(session, iot.alarm_update(alarm, report_id=current.report_id))
            answer = Answer(report_id=current.report_id, status="recovered")
            return Outcome(await self._remembered(session, scope, key, answer), ALREADY)
        if current is not None:
            count = await repo.repeat_alarm(session, current.report_id, alarm.at)
            await self.add_update(session, iot.alarm_update(alarm, report_id=current.report_id, count=count))
            answer = Answer(report_id=current.report_id, status="repeated", count=count)
            return Outcome(await self._remembered(session, scope, key, answer), ALREADY)
        report_id = await self.new_report_id(session)
        await self.file(session, iot.alarm_to_report(alarm, device, report_id=report_id, received_at=self.now()))
        await repo.insert_alarm(
            session, report_id=report_id, device_id=device.device_id, alarm_type=alarm.alarm_type, at=alarm.at
        )
        answer = Answer(report_id=report_id, status="accepted", count=1)
        return Outcome(await self._remembered(session, scope, key, answer), ACCEPTED)

    # --- Open311 -----------------------------------------------------------------------------------------------

    def open311_service(self, code: str) -> Open311Service:
        service = self.registry.services.get(code)
        if service is None:
            raise Invalid(f"unknown service_code {code!r}", field="service_code")
        return service

    async def open311_request(
        self, session: AsyncSession, request: open311.Open311Request, client: str, photos: Sequence[Photo] = ()
    ) -> str:
        jurisdiction = self.config.open311_jurisdiction_id
        if jurisdiction and request.jurisdiction_id not in (None, jurisdiction):
            raise Invalid(f"this endpoint serves jurisdiction {jurisdiction!r}", field="jurisdiction_id")
        service = self.open311_service(request.service_code)
        open311.check_attributes(request, service)
        report_id = await self.new_report_id(session)
        report = open311.request_to_report(request, service, client=client, report_id=report_id, received_at=self.now())
        if photos:  # an uploaded `media` part comes first, before a media_url
            report = report.model_copy(update={"photos": [*photos, *report.photos]})
        await self.file(session, report, open311.request_contact(request))
        return report_id

    # --- where a report stands ---------------------------------------------------------------------------------

    async def require_visible(self, session: AsyncSession, report_id: str, who: Principal) -> None:
        """404 alike for a report that does not exist and one outside the caller's scope: nothing leaks."""
        if not await repo.report_visible(session, report_id, repo.ReadScope.of(who.data_scope())):
            raise NotFound(f"no report {report_id!r}", field="report_id")

    async def report_view(self, session: AsyncSession, report_id: str, who: Principal) -> ReportView:
        await self.require_visible(session, report_id, who)
        row = await repo.get_report(session, report_id)
        if row is None:
            raise NotFound(f"no report {report_id!r}", field="report_id")
        updates = await repo.list_updates(session, report_id)
        return ReportView(
            report_id=row.report_id,
            channel=row.channel,
            external_id=row.external_id,
            received_at=row.received_at,
            stage=row.stage or "received",
            reason=row.reason,
            department_code=row.department_code,
            merged_into=row.primary_report_id,
            case=CaseView(case_id=row.case_id, case_no=row.case_no, state=row.case_state) if row.case_id else None,
            updated_at=row.updated_at or row.received_at,
            updates=[
                {"kind": u.kind, "at": u.at.isoformat(), "text": u.body.get("text", ""), "count": u.body.get("count")}
                for u in updates
            ],
        )

    async def contact(self, session: AsyncSession, report_id: str, who: Principal) -> dict[str, str]:
        await self.require_visible(session, report_id, who)
        row = await repo.get_contact(session, report_id)
        if row is None:
            raise NotFound(f"no report {report_id!r}", field="report_id")
        if row.erased_at is not None:
            raise Gone(
                f"the reporter's contact details were erased on {row.erased_at.isoformat()} "
                f"({self.config.pii_retention_days} days after the case closed)",
                field="contact",
            )
        return self.vault.open(report_id, row.contact_sealed, row.wrapped_key) if row.contact_sealed else {}

    async def record_uploads(self, session: AsyncSession, photos: list[Photo], who: Principal) -> None:
        await repo.add_uploads(session, media_names(photos), uploaded_by=who.subject)

    async def photo(self, session: AsyncSession, name: str, who: Principal) -> bytes:
        """A stored photo, if a report (or case) carrying it is in the caller's scope, or the caller uploaded it."""
        if not await repo.photo_visible(session, name, repo.ReadScope.of(who.data_scope()), who.subject):
            raise NotFound(f"no photo {name!r}", field="name")
        data = await self.photos.get(name)
        if data is None:
            raise NotFound(f"no photo {name!r}", field="name")
        return data

    async def erase_due_contacts(self, session: AsyncSession, limit: int = 200) -> int:
        """Crypto-shred the contact details of reports whose case closed more than the retention ago (city clock)."""
        now = self.now()
        days = self.config.pii_retention_days
        rows = await repo.due_erasures(session, now - timedelta(days=days), limit)
        for row in rows:
            await repo.erase_contact(
                session,
                report_id=row.report_id,
                case_id=row.case_id,
                closed_at=row.closed_at,
                erased_at=now,
                retention_days=days,
                reason="retention",
            )
            log.info(
                "pii_erased",
                report_id=row.report_id,
                case_id=row.case_id,
                closed_at=row.closed_at.isoformat(),
                retention_days=days,
            )
        return len(rows)


def media_names(photos: list[Photo]) -> list[str]:
    """Names of the photos intake itself stores (`/v1/media/<name>`); links to other hosts are not ours to guard."""
    prefix = f"{MEDIA_ROUTE}/"
    return [p.uri.removeprefix(prefix) for p in photos if p.uri.startswith(prefix)]


def _again(seen: repo.Claimed) -> Outcome:
    """A retried message gets the answer its first delivery got (stored with the claim, in one transaction)."""
    if seen.response:
        return Outcome(Answer.model_validate(seen.response), ALREADY)
    return Outcome(Answer(report_id=seen.report_id, status="duplicate"), ALREADY)
