"""Every query of the intake schema. Functions take the caller's session and never commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    DateTime,
    Integer,
    LargeBinary,
    Row,
    Text,
    and_,
    bindparam,
    delete,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
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


async def next_report_numbers(session: AsyncSession, n: int) -> list[int]:
    """`n` numbers of the report sequence in one round trip."""
    stmt = select(report_no.next_value()).select_from(func.generate_series(1, n))
    return [int(v) for v in (await session.execute(stmt)).scalars()]


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


_CLAIM_MANY = text(
    f"""
    WITH claimed AS (
        INSERT INTO {idempotency.fullname} (scope, key, report_id)
        SELECT * FROM unnest(:scopes, :keys, :report_ids)
        ON CONFLICT DO NOTHING
        RETURNING scope, key, report_id
    )
    SELECT c.scope, c.key, c.report_id FROM claimed c
    UNION ALL
    SELECT i.scope, i.key, i.report_id FROM {idempotency.fullname} i
    JOIN unnest(:scopes, :keys) AS w(scope, key) ON (i.scope, i.key) = (w.scope, w.key)
    """
).bindparams(
    bindparam("scopes", type_=ARRAY(Text)),
    bindparam("keys", type_=ARRAY(Text)),
    bindparam("report_ids", type_=ARRAY(Text)),
)


async def claim_many(session: AsyncSession, claims: Sequence[tuple[str, str, str]]) -> dict[tuple[str, str], str]:
    """Claim (scope, key) for report ids in one round trip: which report holds each key afterwards.

    A key claimed now holds the report id given for it (the first of a batch that names it twice); one
    claimed before holds its first report's. A concurrent claimant of the same key waits on the unique index
    until the first transaction ends.
    """
    if not claims:
        return {}
    scopes, keys, ids = (list(column) for column in zip(*claims, strict=True))
    rows = (await session.execute(_CLAIM_MANY, {"scopes": scopes, "keys": keys, "report_ids": ids})).all()
    held = {(row.scope, row.key): row.report_id for row in rows}
    for scope, key, _ in claims:  # committed by another transaction while this statement waited for it
        if (scope, key) not in held:
            first = await find_claim(session, scope, key)
            assert first is not None and first.report_id is not None, "a claim that gave way is committed"
            held[scope, key] = first.report_id
    return held


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


async def record_signatures(session: AsyncSession, signatures: Sequence[str], at: datetime) -> set[str]:
    """The signatures not seen before, recorded now (a batch's replays are the rest)."""
    stmt = text(
        f"INSERT INTO {replay_guard.fullname} (signature, seen_at) SELECT unnest(:signatures), :at "
        "ON CONFLICT DO NOTHING RETURNING signature"
    ).bindparams(bindparam("signatures", type_=ARRAY(Text)), bindparam("at", type_=DateTime(timezone=True)))
    return set((await session.execute(stmt, {"signatures": list(signatures), "at": at})).scalars())


async def prune_signatures(session: AsyncSession, before: datetime) -> int:
    """Signatures older than the window can never validate again, so they need not be remembered."""
    result = await session.execute(delete(replay_guard).where(replay_guard.c.seen_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


CLOSED_STATES = frozenset({"closed", "withdrawn"})
"""Case states that start the retention clock of the reporter's contact details (reopening stops it)."""


# --- reports ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredReport:
    """A report as intake keeps it: the published event (phones masked) and the sealed contact details."""

    report_id: str
    channel: str
    external_id: str | None
    body: dict[str, Any]
    received_at: datetime
    contact_sealed: bytes | None = None
    wrapped_key: bytes | None = None
    photo_names: Sequence[str] = ()


_INSERT_REPORTS = text(
    f"""
    WITH stored AS (
        INSERT INTO {reports.fullname} (report_id, channel, external_id, body, contact_sealed, received_at)
        SELECT id, channel, external_id, body::jsonb, sealed, received_at
        FROM unnest(:ids, :channels, :external_ids, :bodies, :sealed, :received_at)
             AS r(id, channel, external_id, body, sealed, received_at)
        RETURNING report_id, received_at
    ), status AS (
        INSERT INTO {report_status.fullname} (report_id, stage, updated_at)
        SELECT report_id, 'received', received_at FROM stored
        ON CONFLICT DO NOTHING
    )
    INSERT INTO {report_keys.fullname} (report_id, wrapped_key)
    SELECT id, wrapped_key FROM unnest(:ids, :keys) AS k(id, wrapped_key) WHERE wrapped_key IS NOT NULL
    """
).bindparams(
    bindparam("ids", type_=ARRAY(Text)),
    bindparam("channels", type_=ARRAY(Text)),
    bindparam("external_ids", type_=ARRAY(Text)),
    bindparam("bodies", type_=ARRAY(Text)),
    bindparam("sealed", type_=ARRAY(LargeBinary)),
    bindparam("received_at", type_=ARRAY(DateTime(timezone=True))),
    bindparam("keys", type_=ARRAY(LargeBinary)),
)


async def insert_reports(session: AsyncSession, stored: Sequence[StoredReport]) -> None:
    """Reports, their status rows and data keys in one statement, however many (plus one for photos' names
    when some have photos): a batch of admissions costs one round trip here, not three per report."""
    await session.execute(
        _INSERT_REPORTS,
        {
            "ids": [r.report_id for r in stored],
            "channels": [r.channel for r in stored],
            "external_ids": [r.external_id for r in stored],
            "bodies": [orjson.dumps(r.body).decode() for r in stored],
            "sealed": [r.contact_sealed for r in stored],
            "received_at": [r.received_at for r in stored],
            "keys": [r.wrapped_key for r in stored],
        },
    )
    photos = [{"name": n, "report_id": r.report_id} for r in stored for n in dict.fromkeys(r.photo_names)]
    if photos:
        await session.execute(insert(report_photos).values(photos).on_conflict_do_nothing())


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


_ADD_CASE_UNITS = text(
    f"INSERT INTO {case_units.fullname} (case_id, kind, unit) SELECT * FROM unnest(:case_ids, :kinds, :units) "
    "ON CONFLICT DO NOTHING"
).bindparams(*(bindparam(n, type_=ARRAY(Text)) for n in ("case_ids", "kinds", "units")))


async def add_case_units(session: AsyncSession, units: Sequence[tuple[str, str, str]]) -> None:
    """Who may read cases' reports, (case id, kind, unit) rows, in one statement."""
    rows = list(dict.fromkeys(units))
    if rows:
        case_ids, kinds, names = (list(column) for column in zip(*rows, strict=True))
        await session.execute(_ADD_CASE_UNITS, {"case_ids": case_ids, "kinds": kinds, "units": names})


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


@dataclass(frozen=True, slots=True)
class Routed:
    """Where the router sent a report: routed, merged into a primary report, or queued for a dispatcher."""

    report_id: str
    stage: str
    at: datetime
    reason: str | None = None
    department_code: str | None = None
    primary_report_id: str | None = None
    street_code: str | None = None


_SET_ROUTING = text(
    f"""
    INSERT INTO {report_status.fullname}
        (report_id, stage, reason, department_code, primary_report_id, street_code, updated_at)
    SELECT * FROM unnest(:ids, :stages, :reasons, :departments, :primaries, :streets, :ats)
    ON CONFLICT (report_id) DO UPDATE SET stage = excluded.stage, reason = excluded.reason,
        department_code = excluded.department_code, primary_report_id = excluded.primary_report_id,
        street_code = excluded.street_code, updated_at = excluded.updated_at
    """
).bindparams(
    *(bindparam(n, type_=ARRAY(Text)) for n in ("ids", "stages", "reasons", "departments", "primaries", "streets")),
    bindparam("ats", type_=ARRAY(DateTime(timezone=True))),
)
_SHARE_PRIMARY_CASE = text(
    f"""
    UPDATE {report_status.fullname} m SET case_id = p.case_id, case_no = p.case_no, case_state = p.case_state,
        case_version = p.case_version
    FROM {report_status.fullname} p
    WHERE m.report_id = ANY(:ids) AND p.report_id = m.primary_report_id AND m.case_id IS NULL
      AND p.case_id IS NOT NULL
    """
).bindparams(bindparam("ids", type_=ARRAY(Text)))


async def set_routing(session: AsyncSession, routed: Sequence[Routed]) -> None:
    """The router's decisions in one statement (the last one wins for a report named twice); a merged report
    whose primary's case is already known shares it at once."""
    latest = list({r.report_id: r for r in routed}.values())
    if not latest:
        return
    await session.execute(
        _SET_ROUTING,
        {
            "ids": [r.report_id for r in latest],
            "stages": [r.stage for r in latest],
            "reasons": [r.reason for r in latest],
            "departments": [r.department_code for r in latest],
            "primaries": [r.primary_report_id for r in latest],
            "streets": [r.street_code for r in latest],
            "ats": [r.at for r in latest],
        },
    )
    merged = [r.report_id for r in latest if r.primary_report_id]
    if merged:
        await session.execute(_SHARE_PRIMARY_CASE, {"ids": merged})


@dataclass(frozen=True, slots=True)
class Link:
    """A report named by a case event (filed with it, attached to it, closed with it)."""

    report_id: str
    case_id: str
    case_no: str
    state: str
    version: int
    at: datetime


_LINK_COLUMNS = (
    "unnest(:ids, :case_ids, :case_nos, :states, :versions, :ats) AS v(report_id, case_id, case_no, state, version, at)"
)
_LINK_CASES = text(
    f"""
    WITH v AS (SELECT * FROM {_LINK_COLUMNS}), linked AS (
        INSERT INTO {report_status.fullname}
            (report_id, stage, case_id, case_no, case_state, case_version, updated_at, closed_at)
        SELECT report_id, 'routed', case_id, case_no, state, version, at,
               CASE WHEN state = ANY(:closed_states) THEN at END
        FROM v
        ON CONFLICT (report_id) DO UPDATE SET case_id = excluded.case_id, case_no = excluded.case_no,
            case_state = excluded.case_state, case_version = excluded.case_version,
            updated_at = excluded.updated_at, closed_at = excluded.closed_at
        WHERE {report_status.fullname}.case_version IS NULL
           OR {report_status.fullname}.case_version <= excluded.case_version
    )
    UPDATE {report_status.fullname} m SET case_id = v.case_id, case_no = v.case_no, case_state = v.state,
        case_version = v.version, updated_at = v.at,
        closed_at = CASE WHEN v.state = ANY(:closed_states) THEN v.at END
    FROM v WHERE m.primary_report_id = v.report_id AND m.case_id IS NULL AND m.report_id <> ALL(:ids)
    """
).bindparams(
    *(bindparam(n, type_=ARRAY(Text)) for n in ("ids", "case_ids", "case_nos", "states", "closed_states")),
    bindparam("versions", type_=ARRAY(Integer)),
    bindparam("ats", type_=ARRAY(DateTime(timezone=True))),
)


async def link_cases(session: AsyncSession, links: Sequence[Link]) -> None:
    """Tie reports to their cases in one statement (the newest version of each wins), and the reports merged
    into them that had no case yet; later case events then find them all by case id."""
    newest: dict[str, Link] = {}
    for link in links:
        if link.report_id not in newest or link.version >= newest[link.report_id].version:
            newest[link.report_id] = link
    if not newest:
        return
    rows = list(newest.values())
    await session.execute(
        _LINK_CASES,
        {
            "ids": [r.report_id for r in rows],
            "case_ids": [r.case_id for r in rows],
            "case_nos": [r.case_no for r in rows],
            "states": [r.state for r in rows],
            "versions": [r.version for r in rows],
            "ats": [r.at for r in rows],
            "closed_states": sorted(CLOSED_STATES),
        },
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
