"""12345 hotline webhook: signed tickets and their follow-ups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Request, Response

from intake.endpoints.common import (
    ALREADY_RECEIVED,
    REFUSALS,
    IntakeRuntime,
    answer,
    answered,
    intake_of,
    require_json,
)
from intake.schemas import Answer, HotlineTicket, HotlineUpdate
from intake.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from shared.clock import wall_time
from shared.ratelimit import RateLimiter

router = APIRouter(tags=["hotline"])


async def hotline_signature(
    request: Request,
    runtime: IntakeRuntime,
    timestamp: Annotated[str | None, Header(alias=TIMESTAMP_HEADER, description="Unix seconds")] = None,
    signature: Annotated[
        str | None, Header(alias=SIGNATURE_HEADER, description="hex HMAC-SHA256 of `<timestamp>.<body>`")
    ] = None,
) -> str:
    """Checked before the body is validated, so an unsigned caller learns nothing about the format.

    The webhook has its own rate limit (it carries no API key), counted before the signature is checked."""
    settings = runtime.settings
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter:
        await limiter.hit("hotline", "12345")
    return verify(
        settings.hotline_hmac_secret.get_secret_value(),
        timestamp,
        signature,
        await request.body(),
        now=wall_time(runtime.clock),
        window_s=settings.hotline_replay_window_s,
    )


Signature = Annotated[str, Depends(hotline_signature)]


@router.post(
    "/v1/hotline/tickets",
    status_code=202,
    response_model=Answer,
    responses={**ALREADY_RECEIVED, **REFUSALS},
    dependencies=[Depends(require_json)],
    summary="Receive a 12345 ticket (202 first time; 200 naming the first report when the ticket is known)",
)
async def receive_ticket(
    ticket: HotlineTicket, signature: Signature, runtime: IntakeRuntime, response: Response
) -> Answer:
    outcome = await intake_of(runtime).hotline_ticket(ticket, signature)
    return answered(response, "hotline", outcome)


@router.post(
    "/v1/hotline/tickets/{ticket_no}/updates",
    status_code=202,
    response_model=Answer,
    responses={**ALREADY_RECEIVED, 404: {"description": "no such ticket"}, **REFUSALS},
    dependencies=[Depends(require_json)],
    summary="A follow-up on a ticket: the citizen added information, or the hotline withdrew it",
)
async def receive_update(
    ticket_no: Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")],
    update: HotlineUpdate,
    signature: Signature,
    runtime: IntakeRuntime,
    response: Response,
) -> Answer:
    intake = intake_of(runtime)
    return await answer(runtime, response, "hotline", lambda s: intake.hotline_update(s, ticket_no, update, signature))
