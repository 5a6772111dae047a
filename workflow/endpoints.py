"""The case API: parse, authenticate, call the service, answer.

Refusals come in this order: 401 without a valid token, 422 for a malformed request, 404 for a
case outside the caller's data scope (exactly as for a case that does not exist, so nothing
leaks), then 403 for a role the state machine does not allow and 409 for the wrong state, a guard,
or a stale version. Every command answers with the case as it now is, its `version` also in the
`ETag` header; send it back as `If-Match` (or `version` in the body) and a concurrent change makes
your request a 409.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Response

from shared.auth import Principal, Role, require
from shared.errors import Invalid
from shared.service import ServiceRuntime, runtime_of
from workflow.machine import Action, State, roles_for
from workflow.moves import TieredCases
from workflow.repository import CaseFilter, Repository
from workflow.schemas import (
    AuditOut,
    CallbackIn,
    CaseList,
    CaseOut,
    CheckInIn,
    Command,
    DispatchIn,
    ExtensionIn,
    FirstContactIn,
    GrantIn,
    HandleIn,
    RateIn,
    ReasonIn,
    VerifyIn,
    WhistleIn,
)
from workflow.service import CaseService, scope_of
from workflow.views import audit_out, case_views

router = APIRouter(prefix="/v1/cases", tags=["cases"])

Runtime = Annotated[ServiceRuntime, Depends(runtime_of("workflow"))]
CaseRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9-]+$",
        description="case id or case number (e.g. DC20261123000123)",
    ),
]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=40)]
Anyone = Annotated[Principal, Depends(require(*Role))]


def _roles(*actions: Action) -> str:
    roles = sorted({r.value for a in actions for r in roles_for(a)} | {Role.ADMIN.value})
    return f"Roles: {', '.join(roles)}. Data scope: 404 for a case the caller may not see."


def expected_version(if_match: str | None, body: Command | None) -> int | None:
    """The version the caller based its command on: `If-Match: "7"` or `{"version": 7}` (they must agree)."""
    header = None
    if if_match is not None and if_match.strip() != "*":
        raw = if_match.strip().removeprefix("W/").strip('"')
        if not raw.isdigit():
            raise Invalid('If-Match must be the case version, e.g. "7"', field="If-Match")
        header = int(raw)
    in_body = body.version if body is not None else None
    if header is not None and in_body is not None and header != in_body:
        raise Invalid("If-Match and version disagree", field="version")
    return header if header is not None else in_body


async def _command(
    rt: ServiceRuntime, who: Principal, response: Response, act: Callable[[TieredCases], Awaitable[Any]]
) -> CaseOut:
    """Run one command in one transaction; answer only after it is committed."""
    async with rt.transaction() as session:
        service = TieredCases(session, rt.outbox, rt.clock, rt.services["workflow"])
        row = await act(service)
        out = (await case_views(service.repo, service.wf, [row], who, rt.clock.now()))[0]
    response.headers["ETag"] = f'"{out.version}"'
    return out


# -- reading ------------------------------------------------------------------------------------------------


@router.get("", response_model=CaseList, summary="Cases the caller may see, newest first, with traffic lights")
async def list_cases(
    rt: Runtime,
    who: Anyone,
    state: Annotated[list[State] | None, Query(max_length=10)] = None,
    department_code: Annotated[str | None, Query(max_length=64)] = None,
    street_code: Annotated[str | None, Query(max_length=64)] = None,
    current: Annotated[bool, Query(description="department: only the cases assigned to it now")] = False,
    level: Annotated[
        Literal["district", "street", "community"] | None,
        Query(description="cases held at this level: with state=filed&state=returned, the level's dispatch queue"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> CaseList:
    async with rt.sessions() as session:
        repo = Repository(session)
        wanted = CaseFilter([st.value for st in state or ()], department_code, street_code, current, level)
        rows = await repo.list_cases(scope_of(who), wanted, limit + 1, offset)
        items = await case_views(repo, rt.services["workflow"], rows[:limit], who, rt.clock.now())
    return CaseList(items=items, limit=limit, offset=offset, next_offset=offset + limit if len(rows) > limit else None)


@router.get("/{case_ref}", response_model=CaseOut, summary="One case: data, clocks, whistles, allowed actions")
async def get_case(case_ref: CaseRef, rt: Runtime, who: Anyone, response: Response) -> CaseOut:
    async with rt.sessions() as session:
        service = CaseService(session, rt.outbox, rt.clock, rt.services["workflow"])
        row = await service.load(case_ref, who)
        out = (await case_views(service.repo, service.wf, [row], who, rt.clock.now()))[0]
    response.headers["ETag"] = f'"{out.version}"'
    return out


@router.get("/{case_ref}/audit", response_model=list[AuditOut], summary="The full audit trail of a case")
async def get_audit(case_ref: CaseRef, rt: Runtime, who: Anyone) -> list[AuditOut]:
    async with rt.sessions() as session:
        service = CaseService(session, rt.outbox, rt.clock, rt.services["workflow"])
        row = await service.load(case_ref, who)
        return audit_out(await service.repo.audit_of(row.id))


# -- departments ---------------------------------------------------------------------------------------------


@router.post(
    "/{case_ref}/acknowledge",
    response_model=CaseOut,
    summary="Department signs for the case (签收)",
    description=_roles(Action.ACKNOWLEDGE),
)
async def acknowledge(
    case_ref: CaseRef,
    rt: Runtime,
    who: Anyone,
    response: Response,
    if_match: IfMatch = None,
    body: Command | None = None,
) -> CaseOut:
    expected = expected_version(if_match, body)
    return await _command(rt, who, response, lambda s: s.acknowledge(case_ref, who, expected))


@router.post(
    "/{case_ref}/handle",
    response_model=CaseOut,
    summary="Department reports the result, with photos",
    description=_roles(Action.HANDLE),
)
async def handle(
    case_ref: CaseRef, rt: Runtime, who: Anyone, response: Response, body: HandleIn, if_match: IfMatch = None
) -> CaseOut:
    expected = expected_version(if_match, body)
    photos = [p.contract() for p in body.photos]
    return await _command(rt, who, response, lambda s: s.handle(case_ref, who, body.result, photos, expected))


@router.post(
    "/{case_ref}/return",
    response_model=CaseOut,
    summary="Not ours: back to the dispatcher (退回)",
    description=_roles(Action.RETURN),
)
async def return_case(
    case_ref: CaseRef, rt: Runtime, who: Anyone, response: Response, body: ReasonIn, if_match: IfMatch = None
) -> CaseOut:
    expected = expected_version(if_match, body)
    return await _command(rt, who, response, lambda s: s.return_case(case_ref, who, body.reason, expected))


@router.post(
    "/{case_ref}/extension",
    response_model=CaseOut,
    summary="Ask for more working days (延期)",
    description=_roles(Action.REQUEST_EXTENSION),
)
async def request_extension(
    case_ref: CaseRef, rt: Runtime, who: Anyone, response: Response, body: ExtensionIn, if_match: IfMatch = None
) -> CaseOut:
    expected = expected_version(if_match, body)
    return await _command(
        rt, who, response, lambda s: s.request_extension(case_ref, who, body.days, body.reason, expected)
    )


@router.post(
    "/{case_ref}/checkin",
    response_model=CaseOut,
    summary="A summoned department checks in (报到)",
    description=_roles(Action.CHECK_IN),
)
async def check_in(
    case_ref: CaseRef,
    rt: Runtime,
    who: Anyone,
    response: Response,
    if_match: IfMatch = None,
    body: CheckInIn | None = None,
) -> CaseOut:
    expected = expected_version(if_match, body)
    department = body.department_code if body else None
    return await _command(rt, who, response, lambda s: s.check_in(case_ref, who, department, expected))


# -- dispatchers ---------------------------------------------------------------------------------------------


@router.post(
    "/{case_ref}/dispatch",
    response_model=CaseOut,
    summary="Dispatch, or re-dispatch elsewhere",
    description=_roles(Action.DISPATCH, Action.REDISPATCH),
)
async def dispatch(
    case_ref: CaseRef, rt: Runtime, who: Anyone, response: Response, body: DispatchIn, if_match: IfMatch = None
) -> CaseOut:
    expected = expected_version(if_match, body)
    return await _command(
        rt, who, response, lambda s: s.dispatch(case_ref, who, body.department_code, expected, body.reason)
    )


@router.post(
    "/{case_ref}/extension/grant",
    response_model=CaseOut,
    summary="Grant the extension asked for",
    description=_roles(Action.GRANT_EXTENSION),
)
async def grant_extension(
    case_ref: CaseRef,
    rt: Runtime,
    who: Anyone,
    response: Response,
    if_match: IfMatch = None,
    body: GrantIn | None = None,
) -> CaseOut:
    expected = expected_version(if_match, body)
    days = body.days if body else None
    return await _command(rt, who, response, lambda s: s.grant_extension(case_ref, who, days, expected))


@router.post(
    "/{case_ref}/extension/refuse",
    response_model=CaseOut,
    summary="Refuse the extension asked for",
    description=_roles(Action.REFUSE_EXTENSION),
)
async def refuse_extension(
    case_ref: CaseRef, rt: Runtime, who: Anyone, response: Response, body: ReasonIn, if_match: IfMatch = None
) -> CaseOut:
    expected = expected_version(if_match, body)
    return await _command(rt, who, response, lambda s: s.refuse_extension(case_ref, who, body.reason, expected))


@router.post(
    "/{case_ref}/close",
    response_model=CaseOut,
    summary="Close a verified case (结案)",
    description=_roles(Action.CLOSE),
)
async def close(
    case_ref: CaseRef,
    rt: Runtime,
    who: Anyone,
    response: Response,
    if_match: IfMatch = None,
    body: Command | None = None,
) -> CaseOut:
    expected = expected_version(if_match, body)
    return await _command(rt, who, response, lambda s: s.close(case_ref, who, expected))


@router.post(
    "/{case_ref}/suspend",
    response_model=CaseOut,
    summary="Suspend: every clock stops (挂账)",
    description=_roles(Action.SUSPEND),
)
async def suspend(
    case_ref: CaseRef, rt: Runtime, who: Anyone, response: Response, body: ReasonIn, if_match: IfMatch = None
) -> CaseOut:
    expected = expected_version(if_match, body)
    return await _command(rt, who, response, lambda s: s.suspend(case_ref, who, body.reason, expected))


@router.post(
    "/{case_ref}/resume",
    response_model=CaseOut,
    summary="Resume; deadlines move by the suspended time",
    description=_roles(Action.RESUME),
)
async def resume(
    case_ref: CaseRef,
    rt: Runtime,
    who: Anyone,
    response: Response,
    if_match: IfMatch = None,
    body: Command | None = None,
) -> CaseOut:
    expected = expected_version(if_match, body)
    return await _command(rt, who, response, lambda s: s.resume(case_ref, who, expected))


@router.post(
    "/{case_ref}/withdraw",
    response_model=CaseOut,
    summary="Withdraw a case not yet handled",
    description=_roles(Action.WITHDRAW),
)
async def withdraw(
    case_ref: CaseRef, rt: Runtime, who: Anyone, response: Response, body: ReasonIn, if_match: IfMatch = None
) -> CaseOut:
    expected = expected_version(if_match, body)
    return await _command(rt, who, response, lambda s: s.withdraw(case_ref, who, body.reason, expected))


# -- inspectors, streets, hotline -------------------------------------------------------------------------------


@router.post(
    "/{case_ref}/verify",
    response_model=CaseOut,
    summary="Inspector verifies on site, with photos (核查)",
    description=_roles(Action.VERIFY_PASS, Action.VERIFY_FAIL),
)
async def verify(
    case_ref: CaseRef, rt: Runtime, who: Anyone, response: Response, body: VerifyIn, if_match: IfMatch = None
) -> CaseOut:
    expected = expected_version(if_match, body)
    photos = [p.contract() for p in body.photos]
    return await _command(
        rt, who, response, lambda s: s.verify(case_ref, who, body.passed, body.note, photos, expected)
    )


@router.post(
    "/{case_ref}/whistle",
    response_model=CaseOut,
    summary="Street summons departments (吹哨)",
    description=_roles(Action.WHISTLE),
)
async def whistle(
    case_ref: CaseRef, rt: Runtime, who: Anyone, response: Response, body: WhistleIn, if_match: IfMatch = None
) -> CaseOut:
    expected = expected_version(if_match, body)
    return await _command(
        rt, who, response, lambda s: s.whistle(case_ref, who, body.departments, body.reason, expected)
    )


@router.post(
    "/{case_ref}/first-contact",
    response_model=CaseOut,
    summary="Hotline called the citizen, or one merged caller with `report_id` (先行联系)",
    description=_roles(Action.FIRST_CONTACT),
)
async def first_contact(
    case_ref: CaseRef,
    rt: Runtime,
    who: Anyone,
    response: Response,
    if_match: IfMatch = None,
    body: FirstContactIn | None = None,
) -> CaseOut:
    expected = expected_version(if_match, body)
    note, report_id = (body.note, body.report_id) if body else ("", None)
    return await _command(rt, who, response, lambda s: s.first_contact(case_ref, who, note, expected, report_id))


@router.post(
    "/{case_ref}/callback",
    response_model=CaseOut,
    summary="Citizen's satisfaction after closing (回访)",
    description=_roles(Action.CALLBACK, Action.REOPEN),
)
async def callback(
    case_ref: CaseRef, rt: Runtime, who: Anyone, response: Response, body: CallbackIn, if_match: IfMatch = None
) -> CaseOut:
    expected = expected_version(if_match, body)
    return await _command(
        rt,
        who,
        response,
        lambda s: s.callback(case_ref, who, body.satisfaction, body.channel, body.comment, body.reopen, expected),
    )


# -- tiered handling (workflow/levels.py) ------------------------------------------------------------------------


@router.post(
    "/{case_ref}/report-up",
    response_model=CaseOut,
    summary="上报: the next level up takes the case (community → street → district), with a reason",
    description=_roles(Action.REPORT_UP),
)
async def report_up(
    case_ref: CaseRef, rt: Runtime, who: Anyone, response: Response, body: ReasonIn, if_match: IfMatch = None
) -> CaseOut:
    expected = expected_version(if_match, body)
    return await _command(rt, who, response, lambda s: s.report_up(case_ref, who, body.reason, expected))


@router.post(
    "/{case_ref}/delegate",
    response_model=CaseOut,
    summary="下派: the level below takes the case (district → street → community)",
    description=_roles(Action.DELEGATE),
)
async def delegate(
    case_ref: CaseRef, rt: Runtime, who: Anyone, response: Response, body: ReasonIn, if_match: IfMatch = None
) -> CaseOut:
    expected = expected_version(if_match, body)
    return await _command(rt, who, response, lambda s: s.delegate(case_ref, who, body.reason, expected))


@router.post(
    "/{case_ref}/rate",
    response_model=CaseOut,
    summary="考核: the street rates a department's handling of the case",
    description=_roles(Action.RATE),
)
async def rate(
    case_ref: CaseRef, rt: Runtime, who: Anyone, response: Response, body: RateIn, if_match: IfMatch = None
) -> CaseOut:
    expected = expected_version(if_match, body)
    return await _command(
        rt, who, response, lambda s: s.rate(case_ref, who, body.department_code, body.rating, body.comment, expected)
    )


@router.post(
    "/{case_ref}/send-back",
    response_model=CaseOut,
    summary="退单: a 12345 ticket outside the district's remit goes back to the city platform",
    description=_roles(Action.SEND_BACK),
)
async def send_back(
    case_ref: CaseRef, rt: Runtime, who: Anyone, response: Response, body: ReasonIn, if_match: IfMatch = None
) -> CaseOut:
    expected = expected_version(if_match, body)
    return await _command(rt, who, response, lambda s: s.send_back(case_ref, who, body.reason, expected))
