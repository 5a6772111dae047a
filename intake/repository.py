"""Every query of the intake schema. Functions take the caller's session and never commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Integer, Row, Text, and_, bindparam, delete, func, literal, or_, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.models import (
    case_units,
    idempotency,
    iot_alarms,
    photo_uploads,
    pii_erasures,
    replay_guard,
    report_keys,
    report_no,
    report_photos,
    report_status,
    report_updates,
    reports,
    video_streaks,
    wechat_drafts,
)
from shared.auth import DataScope
from shared.db.engine import xact_lock

AnyRow = Row[*tuple[Any, ...]]
"""A result row of any shape."""


async def lock(session: AsyncSession, *parts: str) -> None:
    """Serialise work on one key (a camera+algorithm, a WeChat user) until the transaction ends."""
    await xact_lock(session, "intake", *parts)


async def next_report_number(session: AsyncSession) -> int:
    return int((await session.execute(select(report_no.next_value()))).scalar_one())


# --- idempotency -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    report_id: str | None
    request_hash: str | None
    response: dict[str, Any] | None


async def claim(
    session: AsyncSession, scope: str, key: str, *, report_id: str | None, request_hash: str | None = None
) -> Claimed | None:
    """Claim `key` for a new report: None when claimed now, else what the first claimant stored.

    A concurrent claimant waits on the unique index until the first transaction ends, so two retries
    racing each other still produce one report.
    """
    stmt = (
        insert(idempotency)
        .values(scope=scope, key=key, report_id=report_id, request_hash=request_hash)
        .on_conflict_do_nothing()
        .returning(idempotency.c.key)
    )
    if (await session.execute(stmt)).first() is not None:
        return None
    first = await find_claim(session, scope, key)
    assert first is not None, "a conflicting claim is committed before ON CONFLICT gives way"
    return first


async def find_claim(session: AsyncSession, scope: str, key: str) -> Claimed | None:
    row = (
        await session.execute(
            select(idempotency.c.report_id, idempotency.c.request_hash, idempotency.c.response).where(
                idempotency.c.scope == scope, idempotency.c.key == key
            )
        )
    ).first()
    return Claimed(row.report_id, row.request_hash, row.response) if row else None


async def remember_response(session: AsyncSession, scope: str, key: str, response: dict[str, Any]) -> None:
    await session.execute(
        update(idempotency).where(idempotency.c.scope == scope, idempotency.c.key == key).values(response=response)
    )


async def record_signature(session: AsyncSession, signature: str, at: datetime) -> bool:
    """False when this signature was seen before (a replayed request)."""
    stmt = (
        insert(replay_guard)
        .values(signature=signature, seen_at=at)
        .on_conflict_do_nothing()
        .returning(replay_guard.c.signature)
    )
    return (await session.execute(stmt)).first() is not None


async def prune_signatures(session: AsyncSession, before: datetime) -> int:
    """Signatures older than the window can never validate again, so they need not be remembered."""
    result = await session.execute(delete(replay_guard).where(replay_guard.c.seen_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


CLOSED_STATES = frozenset({"closed", "withdrawn"})
"""Case states that start the retention clock of the reporter's contact details (reopening stops it)."""


# --- reports ---------------------------------------------------------------------------------------------------


async def insert_report(
    session: AsyncSession,
    *,
    report_id: str,
    channel: str,
    external_id: str | None,
    body: dict[str, Any],
    contact_sealed: bytes | None,
    received_at: datetime,
    wrapped_key: bytes | None = None,
    photo_names: Sequence[str] = (),
) -> None:
    """The report and its status row in one statement: one round trip on every channel's hot path (plus one
    for its data key when it has contact details, one for its photos' names when it has photos)."""
    stored = (
        insert(reports)
        .values(
            report_id=report_id,
            channel=channel,
            external_id=external_id,
            body=body,
            contact_sealed=contact_sealed,
            received_at=received_at,
        )
        .returning(reports.c.report_id, reports.c.received_at)
        .cte("stored")
    )
    status = select(stored.c.report_id, literal("received"), stored.c.received_at)
    await session.execute(
        insert(report_status).from_select(["report_id", "stage", "updated_at"], status).on_conflict_do_nothing()
    )
    if wrapped_key is not None:
        await session.execute(insert(report_keys).values(report_id=report_id, wrapped_key=wrapped_key))
    await add_photos(session, report_id, photo_names)


async def add_photos(session: AsyncSession, report_id: str, names: Sequence[str]) -> None:
    """Remember which report a stored photo belongs to: `/v1/media/<name>` is in scope where its report is."""
    if names:
        rows = [{"name": n, "report_id": report_id} for n in dict.fromkeys(names)]
        await session.execute(insert(report_photos).values(rows).on_conflict_do_nothing())


@dataclass(frozen=True, slots=True)
class ReadScope:
    """Which reports a caller may read: all (all None), a department's, a street's or a community's."""

    department: str | None = None
    street: str | None = None
    community: str | None = None

    @classmethod
    def of(cls, scope: DataScope) -> ReadScope:
        return cls(department=scope.department, street=scope.street, community=scope.community)

    def allows(self, status: Any) -> Any:
        """SQL condition on a `report_status` alias: the report's case reached the department, or lies in the
        street (by its case, or by where the router located it before a case existed)."""
        if self.department is not None:
            return (
                select(case_units.c.case_id)
                .where(
                    case_units.c.case_id == status.c.case_id,
                    case_units.c.kind == "department",
                    case_units.c.unit == self.department,
                )
                .exists()
            )
        if self.street is not None:
            return or_(
                status.c.street_code == self.street,
                select(case_units.c.case_id)
                .where(
                    case_units.c.case_id == status.c.case_id,
                    case_units.c.kind == "street",
                    case_units.c.unit == self.street,
                )
                .exists(),
            )
        if self.community is not None:  # by its case only: the router locates reports by street, not community
            return (
                select(case_units.c.case_id)
                .where(
                    case_units.c.case_id == status.c.case_id,
                    case_units.c.kind == "community",
                    case_units.c.unit == self.community,
                )
                .exists()
            )
        return literal(True)


async def report_visible(session: AsyncSession, report_id: str, scope: ReadScope) -> bool:
    """Whether the report exists and is in scope (one answer for both, so a 404 tells an outsider nothing)."""
    stmt = select(report_status.c.report_id).where(report_status.c.report_id == report_id, scope.allows(report_status))
    return (await session.execute(stmt)).first() is not None


async def photo_visible(session: AsyncSession, name: str, scope: ReadScope, subject: str) -> bool:
    """Whether district-wide staff asks, the caller uploaded the photo, or a report carrying it is in scope."""
    if scope.department is None and scope.street is None and scope.community is None:
        return True
    in_scope = (
        select(report_photos.c.report_id)
        .join(report_status, report_status.c.report_id == report_photos.c.report_id)
        .where(report_photos.c.name == name, scope.allows(report_status))
    )
    own = select(photo_uploads.c.name).where(photo_uploads.c.name == name, photo_uploads.c.uploaded_by == subject)
    return bool((await session.execute(select(or_(in_scope.exists(), own.exists())))).scalar())


async def add_uploads(session: AsyncSession, names: Sequence[str], *, uploaded_by: str) -> None:
    if names:
        rows = [{"name": n, "uploaded_by": uploaded_by} for n in dict.fromkeys(names)]
        await session.execute(insert(photo_uploads).values(rows).on_conflict_do_nothing())


async def add_case_photos(session: AsyncSession, case_id: str, names: Sequence[str]) -> None:
    """Photos a case event carries (a department's result, an inspector's check) join the case's reports."""
    for name in dict.fromkeys(names):
        rows = select(literal(name), report_status.c.report_id).where(report_status.c.case_id == case_id)
        await session.execute(insert(report_photos).from_select(["name", "report_id"], rows).on_conflict_do_nothing())


async def add_case_units(session: AsyncSession, case_id: str, units: Sequence[tuple[str, str]]) -> None:
    if units:
        rows = [{"case_id": case_id, "kind": k, "unit": u} for k, u in dict.fromkeys(units)]
        await session.execute(insert(case_units).values(rows).on_conflict_do_nothing())


async def get_report(session: AsyncSession, report_id: str) -> AnyRow | None:
    stmt = (
        select(reports, *[c for c in report_status.c if c.name != "report_id"])
        .join(report_status, report_status.c.report_id == reports.c.report_id, isouter=True)
        .where(reports.c.report_id == report_id)
    )
    return (await session.execute(stmt)).first()


async def get_contact(session: AsyncSession, report_id: str) -> AnyRow | None:
    """The sealed details, the report's wrapped data key (None: legacy row or erased) and the erasure, if any."""
    stmt = (
        select(reports.c.contact_sealed, report_keys.c.wrapped_key, pii_erasures.c.erased_at)
        .join(report_keys, report_keys.c.report_id == reports.c.report_id, isouter=True)
        .join(pii_erasures, pii_erasures.c.report_id == reports.c.report_id, isouter=True)
        .where(reports.c.report_id == report_id)
    )
    return (await session.execute(stmt)).first()


# --- PII retention ---------------------------------------------------------------------------------------------


async def due_erasures(session: AsyncSession, closed_before: datetime, limit: int) -> Sequence[AnyRow]:
    """Reports whose case closed before `closed_before` and whose contact details still exist."""
    stmt = (
        select(report_status.c.report_id, report_status.c.case_id, report_status.c.closed_at)
        .join(reports, reports.c.report_id == report_status.c.report_id)
        .where(report_status.c.closed_at <= closed_before, reports.c.contact_sealed.is_not(None))
        .where(~select(pii_erasures.c.report_id).where(pii_erasures.c.report_id == reports.c.report_id).exists())
        .order_by(report_status.c.closed_at)
        .limit(limit)
        .with_for_update(of=report_status, skip_locked=True)
    )
    return (await session.execute(stmt)).all()


async def erase_contact(
    session: AsyncSession,
    *,
    report_id: str,
    case_id: str | None,
    closed_at: datetime | None,
    erased_at: datetime,
    retention_days: int,
    reason: str,
) -> None:
    """Drop the report's data key (the ciphertext is then noise) and audit it, in one transaction.

    A legacy row sealed directly under the PII key has no data key to drop: its ciphertext is deleted."""
    dropped = await session.execute(delete(report_keys).where(report_keys.c.report_id == report_id))
    if not dropped.rowcount:  # type: ignore[attr-defined]
        await session.execute(update(reports).where(reports.c.report_id == report_id).values(contact_sealed=None))
    await session.execute(
        insert(pii_erasures)
        .values(
            report_id=report_id,
            case_id=case_id,
            closed_at=closed_at,
            erased_at=erased_at,
            retention_days=retention_days,
            reason=reason,
        )
        .on_conflict_do_nothing()
    )


async def insert_update(
    session: AsyncSession, *, report_id: str, kind: str, body: dict[str, Any], at: datetime
) -> None:
    await session.execute(insert(report_updates).values(report_id=report_id, kind=kind, body=body, at=at))


async def list_updates(session: AsyncSession, report_id: str) -> Sequence[AnyRow]:
    stmt = (
        select(report_updates.c.kind, report_updates.c.body, report_updates.c.at)
        .where(report_updates.c.report_id == report_id)
        .order_by(report_updates.c.id)
    )
    return (await session.execute(stmt)).all()


async def list_reports(
    session: AsyncSession,
    *,
    channel: str,
    ids: Sequence[str] | None,
    service_code: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> Sequence[AnyRow]:
    stmt = (
        select(reports, *[c for c in report_status.c if c.name != "report_id"])
        .join(report_status, report_status.c.report_id == reports.c.report_id, isouter=True)
        .where(reports.c.channel == channel)
    )
    if ids:
        stmt = stmt.where(reports.c.report_id.in_(list(ids)))
    if service_code:
        stmt = stmt.where(reports.c.body["attributes"]["service_code"].astext == service_code)
    if start:
        stmt = stmt.where(reports.c.received_at >= start)
    if end:
        stmt = stmt.where(reports.c.received_at <= end)
    return (await session.execute(stmt.order_by(reports.c.received_at.desc()).limit(limit))).all()


# --- status read model -----------------------------------------------------------------------------------------


async def statuses_of(session: AsyncSession, report_ids: Sequence[str]) -> dict[str, AnyRow]:
    """The status rows of some reports (e.g. the primaries that merged reports joined), by report id."""
    if not report_ids:
        return {}
    stmt = select(report_status).where(report_status.c.report_id.in_(list(report_ids)))
    return {r.report_id: r for r in (await session.execute(stmt)).all()}


async def set_routing(
    session: AsyncSession,
    report_id: str,
    *,
    stage: str,
    at: datetime,
    reason: str | None = None,
    department_code: str | None = None,
    primary_report_id: str | None = None,
    street_code: str | None = None,
) -> None:
    values = {
        "stage": stage,
        "reason": reason,
        "department_code": department_code,
        "primary_report_id": primary_report_id,
        "street_code": street_code,
        "updated_at": at,
    }
    stmt = insert(report_status).values(report_id=report_id, **values)
    await session.execute(stmt.on_conflict_do_update(index_elements=[report_status.c.report_id], set_=values))
    if primary_report_id:  # the primary's case may already be known: the merged report shares it
        primary = (
            await session.execute(
                select(
                    report_status.c.case_id,
                    report_status.c.case_no,
                    report_status.c.case_state,
                    report_status.c.case_version,
                ).where(report_status.c.report_id == primary_report_id)
            )
        ).first()
        if primary is not None and primary.case_id:
            await session.execute(
                update(report_status)
                .where(report_status.c.report_id == report_id, report_status.c.case_id.is_(None))
                .values(
                    case_id=primary.case_id,
                    case_no=primary.case_no,
                    case_state=primary.case_state,
                    case_version=primary.case_version,
                )
            )


async def link_case(
    session: AsyncSession,
    report_ids: Sequence[str],
    *,
    case_id: str,
    case_no: str,
    state: str,
    version: int,
    at: datetime,
) -> None:
    """Tie reports (and reports merged into them) to a case; later case events then find them by case id."""
    values = {
        "case_id": case_id,
        "case_no": case_no,
        "case_state": state,
        "case_version": version,
        "updated_at": at,
        "closed_at": at if state in CLOSED_STATES else None,
    }
    for report_id in report_ids:
        stmt = insert(report_status).values(report_id=report_id, stage="routed", **values)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[report_status.c.report_id],
                set_=values,
                where=or_(report_status.c.case_version.is_(None), report_status.c.case_version <= version),
            )
        )
    await session.execute(
        update(report_status)
        .where(report_status.c.primary_report_id.in_(list(report_ids)), report_status.c.case_id.is_(None))
        .values(values)
    )


async def set_case_state(session: AsyncSession, *, case_id: str, state: str, version: int, at: datetime) -> None:
    """Out-of-order or redelivered case events never move a report's case state backwards."""
    await session.execute(
        update(report_status)
        .where(
            report_status.c.case_id == case_id,
            or_(report_status.c.case_version.is_(None), report_status.c.case_version < version),
        )
        .values(
            case_state=state,
            case_version=version,
            updated_at=at,
            closed_at=(func.coalesce(report_status.c.closed_at, at) if state in CLOSED_STATES else None),
        )
    )


async def set_case_result(session: AsyncSession, *, case_id: str, result: str, version: int, at: datetime) -> None:
    """The handling result of a case, on every report it holds (the patrol officer's list shows it)."""
    await session.execute(
        update(report_status)
        .where(
            report_status.c.case_id == case_id,
            or_(report_status.c.case_result_at.is_(None), report_status.c.case_result_at <= at),
        )
        .values(case_result=result, case_result_at=at)
    )


async def patrol_reports_of(session: AsyncSession, inspector: str, limit: int, offset: int) -> Sequence[AnyRow]:
    """An inspector's own patrol reports with where each stands, newest first."""
    stmt = (
        select(reports, *[c for c in report_status.c if c.name != "report_id"])
        .join(report_status, report_status.c.report_id == reports.c.report_id, isouter=True)
        .where(reports.c.channel == "patrol", reports.c.body["reporter"]["id"].astext == inspector)
        .order_by(reports.c.received_at.desc(), reports.c.report_id)
        .limit(limit)
        .offset(offset)
    )
    return (await session.execute(stmt)).all()


_SET_CASE_STATES = text(
    f"UPDATE {report_status.fullname} s SET case_state = v.state, case_version = v.version, updated_at = v.at, "
    "closed_at = CASE WHEN v.state = ANY(:closed_states) THEN coalesce(s.closed_at, v.at) END "
    "FROM unnest(:case_ids, :states, :versions, :ats) AS v(case_id, state, version, at) "
    "WHERE s.case_id = v.case_id AND (s.case_version IS NULL OR s.case_version < v.version)"
).bindparams(
    bindparam("case_ids", type_=ARRAY(Text)),
    bindparam("states", type_=ARRAY(Text)),
    bindparam("versions", type_=ARRAY(Integer)),
    bindparam("ats", type_=ARRAY(DateTime(timezone=True))),
    bindparam("closed_states", type_=ARRAY(Text)),
)


async def set_case_states(session: AsyncSession, latest: Sequence[tuple[str, str, int, datetime]]) -> None:
    """`set_case_state` for many cases in one statement: (case id, state, version, at), one row per case."""
    if latest:
        case_ids, states, versions, ats = (list(column) for column in zip(*latest, strict=True))
        await session.execute(
            _SET_CASE_STATES,
            {
                "case_ids": case_ids,
                "states": states,
                "versions": versions,
                "ats": ats,
                "closed_states": sorted(CLOSED_STATES),
            },
        )


# --- video streaks ---------------------------------------------------------------------------------------------


async def get_streak(session: AsyncSession, camera_id: str, algorithm: str) -> AnyRow | None:
    stmt = select(video_streaks).where(video_streaks.c.camera_id == camera_id, video_streaks.c.algorithm == algorithm)
    return (await session.execute(stmt)).first()


async def start_streak(session: AsyncSession, camera_id: str, algorithm: str, report_id: str, at: datetime) -> None:
    values = {"report_id": report_id, "first_at": at, "last_at": at, "count": 1}
    stmt = insert(video_streaks).values(camera_id=camera_id, algorithm=algorithm, **values)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=[video_streaks.c.camera_id, video_streaks.c.algorithm], set_=values)
    )


async def extend_streak(session: AsyncSession, camera_id: str, algorithm: str, at: datetime) -> int:
    stmt = (
        update(video_streaks)
        .where(video_streaks.c.camera_id == camera_id, video_streaks.c.algorithm == algorithm)
        .values(count=video_streaks.c.count + 1, last_at=func.greatest(video_streaks.c.last_at, at))
        .returning(video_streaks.c.count)
    )
    return int((await session.execute(stmt)).scalar_one())


# --- WeChat drafts ---------------------------------------------------------------------------------------------


async def open_draft(session: AsyncSession, openid: str) -> AnyRow | None:
    stmt = select(wechat_drafts).where(wechat_drafts.c.openid == openid, wechat_drafts.c.state == "open")
    return (await session.execute(stmt.with_for_update())).first()


async def insert_draft(
    session: AsyncSession, *, report_id: str, openid: str, at: datetime, draft: dict[str, Any]
) -> None:
    await session.execute(
        insert(wechat_drafts).values(
            report_id=report_id, openid=openid, state="open", opened_at=at, last_at=at, draft=draft
        )
    )


async def save_draft(session: AsyncSession, report_id: str, *, draft: dict[str, Any], at: datetime) -> None:
    await session.execute(
        update(wechat_drafts).where(wechat_drafts.c.report_id == report_id).values(draft=draft, last_at=at)
    )


async def close_draft(session: AsyncSession, report_id: str, state: str) -> None:
    await session.execute(update(wechat_drafts).where(wechat_drafts.c.report_id == report_id).values(state=state))


async def due_drafts(session: AsyncSession, silent_since: datetime, limit: int) -> Sequence[AnyRow]:
    """Open drafts whose citizen has been silent since `silent_since`; other replicas skip the locked ones."""
    stmt = (
        select(wechat_drafts)
        .where(wechat_drafts.c.state == "open", wechat_drafts.c.last_at < silent_since)
        .order_by(wechat_drafts.c.last_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.execute(stmt)).all()


async def any_due_draft(session: AsyncSession, silent_since: datetime) -> bool:
    stmt = (
        select(wechat_drafts.c.report_id)
        .where(and_(wechat_drafts.c.state == "open", wechat_drafts.c.last_at < silent_since))
        .limit(1)
    )
    return (await session.execute(stmt)).first() is not None


# --- IoT alarms ------------------------------------------------------------------------------------------------


async def open_alarm(session: AsyncSession, device_id: str, alarm_type: str) -> AnyRow | None:
    stmt = select(iot_alarms).where(
        iot_alarms.c.device_id == device_id, iot_alarms.c.alarm_type == alarm_type, iot_alarms.c.state == "open"
    )
    return (await session.execute(stmt.with_for_update())).first()


async def insert_alarm(session: AsyncSession, *, report_id: str, device_id: str, alarm_type: str, at: datetime) -> None:
    await session.execute(
        insert(iot_alarms).values(
            report_id=report_id,
            device_id=device_id,
            alarm_type=alarm_type,
            state="open",
            opened_at=at,
            last_at=at,
            count=1,
        )
    )


async def repeat_alarm(session: AsyncSession, report_id: str, at: datetime) -> int:
    stmt = (
        update(iot_alarms)
        .where(iot_alarms.c.report_id == report_id)
        .values(count=iot_alarms.c.count + 1, last_at=func.greatest(iot_alarms.c.last_at, at))
        .returning(iot_alarms.c.count)
    )
    return int((await session.execute(stmt)).scalar_one())


async def recover_alarm(session: AsyncSession, report_id: str, at: datetime) -> None:
    await session.execute(
        update(iot_alarms).where(iot_alarms.c.report_id == report_id).values(state="recovered", recovered_at=at)
    )
