"""Video-AI alerts from registered cameras."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from starlette.concurrency import run_in_threadpool

from intake.endpoints.common import (
    ALREADY_RECEIVED,
    REFUSALS,
    IntakeRuntime,
    answer,
    intake_of,
    require_client,
    require_json,
)
from intake.photos import check_photo
from intake.schemas import Answer, VideoAlert
from shared.auth import Principal
from shared.contracts.common import Photo
from shared.errors import Invalid

router = APIRouter(tags=["video"])


@router.post(
    "/v1/video/alerts",
    status_code=202,
    response_model=Answer,
    responses={**ALREADY_RECEIVED, **REFUSALS},
    dependencies=[Depends(require_json)],
    summary="An AI alert: 202 opens a report; 200 for a repeat within the window, a retry, or low confidence",
)
async def video_alert(
    alert: VideoAlert,
    _: Annotated[Principal, Depends(require_client("video"))],
    runtime: IntakeRuntime,
    response: Response,
) -> Answer:
    intake = intake_of(runtime)
    snapshot: Photo | None = None
    if alert.snapshot_base64:
        try:
            data = base64.b64decode(alert.snapshot_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise Invalid("snapshot_base64 is not valid base64", field="snapshot_base64") from exc
        content_type, ext = await run_in_threadpool(
            check_photo,
            data,
            field="snapshot_base64",
            max_bytes=runtime.settings.max_photo_bytes,
            max_pixels=runtime.settings.max_photo_pixels,
        )
        snapshot = (await intake.photos.put(data, content_type, ext)).model_copy(update={"taken_at": alert.captured_at})
    return await answer(runtime, response, "video", lambda s: intake.video_alert(s, alert, snapshot))
