"""IoT alarms from registered devices, and their recoveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from intake.endpoints.common import (
    ALREADY_RECEIVED,
    REFUSALS,
    IntakeRuntime,
    answer,
    intake_of,
    require_client,
    require_json,
)
from intake.schemas import Answer, IotAlarm
from shared.auth import Principal

router = APIRouter(tags=["iot"])


@router.post(
    "/v1/iot/alarms",
    status_code=202,
    response_model=Answer,
    responses={**ALREADY_RECEIVED, **REFUSALS},
    dependencies=[Depends(require_json)],
    summary="An alarm (202 opens a report) or a recovery (200, closes the open alarm)",
)
async def iot_alarm(
    alarm: IotAlarm,
    _: Annotated[Principal, Depends(require_client("iot"))],
    runtime: IntakeRuntime,
    response: Response,
) -> Answer:
    intake = intake_of(runtime)
    return await answer(runtime, response, "iot", lambda s: intake.iot_alarm(s, alarm))
