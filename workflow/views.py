"""What the API shows of a case: its data, clocks with traffic lights, whistles and what the caller may do."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from shared.auth import Principal
from workflow import machine
from workflow.callers import first_contact_kind
from workflow.repository import CaseRow, Repository
from workflow.schedule import span_of
from workflow.schemas import AuditOut, CallerOut, CaseOut, CheckInOut, DeadlineOut, WhistleOut
from workflow.service import Workflow, facts_of

_LIGHT_ORDER = {"green": 0, "yellow": 1, "red": 2}


def _deadline_out(wf: Workflow, d: Row[Any], now: datetime) -> DeadlineOut:
    elapsed = light = None
    if d.status == "active":
        elapsed = round(wf.clockwork.fraction(span_of(d), now), 4)
        light = wf.rules.traffic_light.colour(elapsed)
    return DeadlineOut(
        kind=d.kind,
        department_code=d.department_code,
        basis=d.basis,
        start_at=d.start_at,
        due_at=d.due_at,
        status=d.status,
        met_at=d.met_at,
        on_time=d.on_time,
        elapsed=elapsed,
        traffic_light=light,  # type: ignore[arg-type]
        suspended=d.paused_at is not None,
        warnings=list(d.warnings),
    )


async def case_views(
    repo: Repository, wf: Workflow, rows: Sequence[CaseRow], who: Principal, now: datetime
) -> list[CaseOut]:
    """Views of several cases with a handful of queries, whatever their number."""
    ids = [r.id for r in rows]
    deadlines = _by_case(await repo.deadlines_of(ids))
    departments = _by_case(await repo.departments_of(ids))
    reports = _by_case(await repo.reports_of(ids))
    whistles = _by_case(await repo.whistles_of(ids))
    return [
        _case_out(wf, row, deadlines[row.id], departments[row.id], reports[row.id], whistles[row.id], who, now)
        for row in rows
    ]


def _by_case(rows: Sequence[Row[Any]]) -> dict[str, list[Row[Any]]]:
    grouped: dict[str, list[Row[Any]]] = defaultdict(list)
    for r in rows:
        grouped[r.case_id].append(r)
    return grouped


def _case_out(
    wf: Workflow,
    row: CaseRow,
    deadlines: list[Row[Any]],
    departments: list[Row[Any]],
    reports: list[Row[Any]],
    whistle_rows: list[Row[Any]],
    who: Principal,
    now: datetime,
) -> CaseOut:
    clocks = [_deadline_out(wf, d, now) for d in deadlines]
    open_case = machine.State(row.state) in machine.OPEN
    lights = [c.traffic_light for c in clocks if c.traffic_light] if open_case else []
    pending = frozenset(
        d.department_code
        for d in deadlines
        if d.status == "active" and d.kind.startswith("checkin:") and d.department_code
    )
    warnings = list(dict.fromkeys([*row.warnings, *(w for c in clocks if c.status == "active" for w in c.warnings)]))
    whistles = [
        WhistleOut(
            id=w.id,
            street_code=w.street_code,
            blown_at=w.blown_at,
            blown_by=w.blown_by,
            reason=w.reason,
            checkins=[
                CheckInOut(
                    department_code=d.department_code,
                    due_at=d.due_at,
                    checked_in_at=d.met_at,
                    on_time=d.on_time,
                    status=d.status,
                )
                for d in deadlines
                if d.whistle_id == w.id
            ],
        )
        for w in whistle_rows
    ]
    return CaseOut(
        id=row.id,
        case_no=row.case_no,
        state=row.state,
        version=row.version,
        report_id=row.report_id,
        report_ids=[r.report_id for r in reports],
        channel=row.channel,
        category={"scheme": row.category_scheme, "code": row.category_code, "name": row.category_name},
        category_kind=row.category_kind,
        priority=row.priority,
        deadline_profile=row.deadline_profile,
        grid={
            "district_code": row.district_code,
            "street_code": row.street_code,
            "community_code": row.community_code,
            "cell_code": row.cell_code,
        },
        location={"lon": row.lon, "lat": row.lat} if row.lon is not None and row.lat is not None else None,
        address=row.address,
        description=row.description,
        department_code=row.department_code,
        departments=[
            {"department_code": d.department_code, "relation": d.relation, "since": d.since} for d in departments
        ],
        level=row.level,
        level_unit=row.level_unit,
        received_at=row.received_at,
        filed_at=row.filed_at,
        updated_at=row.updated_at,
        closed_at=row.closed_at,
        suspended_from=row.suspended_from,
        extension_request={"days": row.extension_days, "reason": row.extension_reason}
        if row.extension_days is not None
        else None,
        first_contact_at=row.first_contact_at,
        satisfaction=row.last_satisfaction,
        result=row.result,
        photos=list(row.photos),
        traffic_light=max(lights, key=_LIGHT_ORDER.__getitem__) if lights else None,  # type: ignore[arg-type]
        deadlines=clocks,
        callers=_callers(row, reports, deadlines),
        whistles=whistles,
        warnings=warnings,
        allowed_actions=[a.value for a in machine.allowed_actions(facts_of(row, pending), who)],
    )


def _callers(row: CaseRow, reports: list[Row[Any]], deadlines: list[Row[Any]]) -> list[CallerOut]:
    """The primary caller is owed the case's own clocks; a merged one its own (`workflow.callers`)."""
    latest = {d.kind: d for d in deadlines if d.status != "cancelled"}
    handle = latest.get("handle")
    out = []
    for r in reports:
        contact = latest.get("first_contact" if r.is_primary else first_contact_kind(r.report_id))
        out.append(
            CallerOut(
                report_id=r.report_id,
                primary=r.is_primary,
                channel=r.channel,
                external_id=r.external_id,
                deadline_profile=row.deadline_profile if r.is_primary else r.deadline_profile,
                hotline_class=r.hotline_class,
                received_at=row.received_at if r.is_primary else r.received_at,
                first_contact_due_at=contact.due_at if contact else None,
                first_contact_at=row.first_contact_at if r.is_primary else r.first_contact_at,
                result_due_at=(handle.due_at if handle else None) if r.is_primary else r.result_due_at,
                withdrawn_at=r.withdrawn_at,
            )
        )
    return out


def audit_out(rows: Sequence[Row[Any]]) -> list[AuditOut]:
    return [
        AuditOut(
            at=r.at,
            version=r.version,
            actor={"id": r.actor_id, "role": r.actor_role, "unit": r.actor_unit},
            action=r.action,
            from_state=r.from_state,
            to_state=r.to_state,
            reason=r.reason,
            payload=r.payload,
            event_id=r.event_id,
        )
        for r in rows
    ]
