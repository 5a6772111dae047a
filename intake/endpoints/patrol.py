"""Patrol app: an inspector's report with photos (multipart), retried safely with an Idempotency-Key."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Header, Query, Response, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from intake import repository as repo
from intake.endpoints.common import ALREADY_RECEIVED, REFUSALS, IntakeRuntime, answer, intake_of
from intake.photos import PhotoStore, check_photo
from intake.schemas import Answer, PatrolReport
from shared.auth import Principal, Role, require
from shared.contracts.common import Photo
from shared.errors import Invalid

router = APIRouter(tags=["patrol"])


@router.post(
    "/v1/patrol/reports",
    status_code=202,
    response_model=Answer,
    responses={**ALREADY_RECEIVED, **REFUSALS},
    summary="An inspector's report; a retried upload with the same Idempotency-Key is not duplicated",
)
async def patrol_report(
    form: Annotated[PatrolReport, Form()],
    inspector: Annotated[Principal, Depends(require(Role.INSPECTOR))],
    runtime: IntakeRuntime,
    response: Response,
    photos: Annotated[list[UploadFile] | None, File(description="JPEG or PNG, each within the size limit")] = None,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            pattern=r"^[\x21-\x7e]{1,128}$",
            description="chosen by the app per report; resending the same report reuses it",
        ),
    ] = None,
) -> Answer:
    intake = intake_of(runtime)
    stored = await store_photos(
        intake.photos,
        photos or [],
        max_count=intake.config.max_photos,
        max_bytes=runtime.settings.max_photo_bytes,
        max_pixels=runtime.settings.max_photo_pixels,
    )
    return await answer(
        runtime, response, "patrol", lambda s: intake.patrol_report(s, form, inspector, stored, idempotency_key)
    )


class MyReport(BaseModel):
    report_id: str
    received_at: datetime
    text: str
    address: str | None
    stage: str = Field(description="received | routed | merged | queued")
    department_code: str | None
    case_no: str | None
    case_state: str | None
    result: str | None = Field(description="the department's handling result (办理结果), once handled")
    result_at: datetime | None


class MyReports(BaseModel):
    items: list[MyReport]
    limit: int
    offset: int
    next_offset: int | None


@router.get(
    "/v1/patrol/my-reports",
    response_model=MyReports,
    summary="The inspector's own reports, newest first: case number, state and the handling result",
)
async def my_reports(
    inspector: Annotated[Principal, Depends(require(Role.INSPECTOR))],
    runtime: IntakeRuntime,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> MyReports:
    async with runtime.sessions() as session:
        rows = await repo.patrol_reports_of(session, inspector.subject, limit + 1, offset)
    items = [
        MyReport(
            report_id=r.report_id,
            received_at=r.received_at,
            text=r.body.get("text", ""),
            address=(r.body.get("place") or {}).get("address"),
            stage=r.stage or "received",
            department_code=r.department_code,
            case_no=r.case_no,
            case_state=r.case_state,
            result=r.case_result,
            result_at=r.case_result_at,
        )
        for r in rows[:limit]
    ]
    return MyReports(items=items, limit=limit, offset=offset, next_offset=offset + limit if len(rows) > limit else None)


async def store_photos(
    store: PhotoStore, uploads: list[UploadFile], *, max_count: int, max_bytes: int, max_pixels: int
) -> list[Photo]:
    """Check every photo before storing any; storage is content-addressed, so a retry stores nothing new."""
    if len(uploads) > max_count:
        raise Invalid(f"at most {max_count} photos per report", field="photos")
    checked = []
    for i, upload in enumerate(uploads):
        data = await upload.read(max_bytes + 1)
        kind = await run_in_threadpool(
            check_photo, data, field=f"photos[{i}]", max_bytes=max_bytes, max_pixels=max_pixels
        )
        checked.append((data, kind))
    return [await store.put(data, content_type, ext) for data, (content_type, ext) in checked]
