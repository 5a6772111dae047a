"""What every intake endpoint shares: the runtime, one committed transaction per request, refusals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from intake.metrics import ANSWERS
from intake.schemas import Answer
from intake.service import Intake, Outcome
from shared.auth import Principal, Role, require
from shared.errors import Forbidden, UnsupportedMedia
from shared.service import ServiceRuntime, runtime_of

IntakeRuntime = Annotated[ServiceRuntime, Depends(runtime_of("intake"))]


REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"description": "not signed or not authenticated"},
    403: {"description": "authenticated but not allowed"},
    409: {"description": "conflict: replayed request, or a key reused for a different request"},
    413: {"description": "too large"},
    415: {"description": "wrong media type"},
    422: {"description": "invalid field: the answer names it and why"},
}
ALREADY_RECEIVED: dict[int | str, dict[str, Any]] = {
    200: {"model": Answer, "description": "already received (or a repeat / ignored): names the first report"}
}


def intake_of(runtime: ServiceRuntime) -> Intake:
    service: Intake = runtime.services["intake"]
    return service


async def answer(
    runtime: ServiceRuntime, response: Response, channel: str, work: Callable[[AsyncSession], Awaitable[Outcome]]
) -> Answer:
    """Run `work` in one transaction and answer only after it committed (durable before acknowledged)."""
    async with runtime.transaction() as session:
        outcome = await work(session)
    return answered(response, channel, outcome)


def answered(response: Response, channel: str, outcome: Outcome) -> Answer:
    """The answer of a committed outcome (202 accepted, 200 already received)."""
    response.status_code = outcome.status_code
    ANSWERS.labels(channel, outcome.answer.status).inc()
    return outcome.answer


async def require_json(request: Request) -> None:
    """Dependency: refuse a body that is not JSON with 415 rather than a confusing validation error."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMedia(f"body must be application/json, not {media or 'unspecified'!r}", field="Content-Type")


def require_client(*clients: str) -> Callable[..., Awaitable[Principal]]:
    """Dependency: another system calling with its own API key (`X-API-Key` → client name), or an admin."""

    async def dependency(principal: Annotated[Principal, Depends(require(Role.SYSTEM))]) -> Principal:
        if principal.role is Role.SYSTEM and principal.subject not in clients:
            raise Forbidden(f"API key of {principal.subject!r} may not call this channel", field="X-API-Key")
        return principal

    return dependency
