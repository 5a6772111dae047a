"""Where a report stands; the caller's contact for callbacks; stored photos."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, File, Path, Request, UploadFile
from fastapi.responses import Response

from intake.endpoints.common import IntakeRuntime, intake_of
from intake.endpoints.patrol import store_photos
from intake.metrics import REPORT_PROBES
from intake.schemas import ReportView
from shared.auth import Principal, Role, require
from shared.contracts.common import Photo
from shared.errors import NotFound
from shared.logging import get_logger
from shared.ratelimit import RateLimiter, TooManyRequests

router = APIRouter(tags=["reports"])
log = get_logger(__name__)
STAFF = (Role.INSPECTOR, Role.DISPATCHER, Role.DEPARTMENT, Role.STREET, Role.SUPERVISOR, Role.SYSTEM)
PEOPLE = (Role.INSPECTOR, Role.DISPATCHER, Role.DEPARTMENT, Role.STREET, Role.SUPERVISOR)
ReportId = Annotated[str, Path(pattern=r"^R[0-9]{8,20}$", description="e.g. R20250310000042")]


@asynccontextmanager
async def probe_guard(request: Request, who: Principal) -> AsyncIterator[None]:
    """Report numbers are sequential, so guessing them is cheap: a caller whose lookups keep finding nothing
    (`rate_limit_report_misses`) is refused with 429 and counted in `cityloop_intake_report_probes_total`,
    the metric to alert on. Scope already hides reports outside the caller's unit; this stops the sweep."""
    try:
        yield
    except NotFound:
        limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
        if limiter is not None:
            try:
                await limiter.hit("miss", who.subject)
            except TooManyRequests:
                REPORT_PROBES.labels(who.role.value).inc()
                log.warning(
                    "report_probing_suspected",
                    by=who.subject,
                    role=who.role.value,
                    unit=who.unit,
                    path=request.url.path,
                )
                raise
        raise


@router.get(
    "/v1/reports/{report_id}",
    response_model=ReportView,
    responses={
        401: {"description": "not authenticated"},
        404: {"description": "no such report, or not in the caller's scope"},
    },
    summary="Where a report stands: received, routed, merged into another, queued for a dispatcher; its case",
)
async def report_status(
    report_id: ReportId,
    request: Request,
    runtime: IntakeRuntime,
    who: Annotated[Principal, Depends(require(*STAFF))],
) -> ReportView:
    async with probe_guard(request, who), runtime.transaction() as session:
        return await intake_of(runtime).report_view(session, report_id, who)


@router.get(
    "/v1/reports/{report_id}/contact",
    responses={
        401: {"description": "not authenticated"},
        403: {"description": "not a dispatcher"},
        404: {"description": "no such report, or not in the caller's scope"},
        410: {"description": "erased: the retention period after the case closed has passed"},
    },
    summary="The caller's full phone/email, for the dispatcher who calls back (every read is logged)",
)
async def report_contact(
    report_id: ReportId,
    request: Request,
    runtime: IntakeRuntime,
    principal: Annotated[Principal, Depends(require(Role.DISPATCHER, Role.SUPERVISOR))],
) -> dict[str, str]:
    async with probe_guard(request, principal), runtime.transaction() as session:
        contact = await intake_of(runtime).contact(session, report_id, principal)
    log.info("contact_read", report_id=report_id, by=principal.subject, fields=sorted(contact))
    return contact


@router.get(
    "/v1/media/{name}",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}}},
        404: {"description": "no such photo, or none of its reports is in the caller's scope"},
    },
    summary="A stored photo, by the name its report carries (in scope where one of its reports is)",
)
async def media(
    name: Annotated[str, Path(max_length=80)],
    request: Request,
    runtime: IntakeRuntime,
    who: Annotated[Principal, Depends(require(*STAFF))],
) -> Response:
    async with probe_guard(request, who), runtime.transaction() as session:
        data = await intake_of(runtime).photo(session, name, who)
    return Response(
        data,
        media_type="image/png" if name.endswith(".png") else "image/jpeg",
        headers={"Cache-Control": "private, max-age=86400, immutable"},
    )


@router.post(
    "/v1/media",
    status_code=201,
    response_model=list[Photo],
    responses={
        401: {"description": "not authenticated"},
        403: {"description": "not a person working cases"},
        413: {"description": "a photo is too large"},
        415: {"description": "not a JPEG or PNG"},
        422: {"description": "no photos, or too many"},
    },
    summary="Store photos (e.g. a department's result or an inspector's on-site photo); send the answers as `photos`",
)
async def upload_media(
    runtime: IntakeRuntime,
    who: Annotated[Principal, Depends(require(*PEOPLE))],
    photos: Annotated[list[UploadFile], File(description="JPEG or PNG, each within the size limit")],
) -> list[Photo]:
    """Case commands carry photos by reference; people who work a case need somewhere to put them first.

    Stored like a report's photos (checked, content-addressed), so uploading the same file twice stores it once.
    The uploader may read them back at once; everyone in the case's scope may once a case event carries them.
    """
    intake = intake_of(runtime)
    stored = await store_photos(
        intake.photos,
        photos,
        max_count=intake.config.max_photos,
        max_bytes=runtime.settings.max_photo_bytes,
        max_pixels=runtime.settings.max_photo_pixels,
    )
    async with runtime.transaction() as session:
        await intake.record_uploads(session, stored, who)
    return stored
