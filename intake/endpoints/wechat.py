"""WeChat official-account callback: URL verification (GET) and pushed messages (POST)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response

from intake import wechat
from intake.endpoints.common import REFUSALS, IntakeRuntime, intake_of
from intake.metrics import ANSWERS
from shared.errors import TooLarge, UnsupportedMedia

router = APIRouter(tags=["wechat"])
SigParam = Annotated[str | None, Query(max_length=128)]


def protocol(runtime: IntakeRuntime) -> wechat.WeChatProtocol:
    found: wechat.WeChatProtocol = runtime.services["wechat"]
    return found


@router.get(
    "/v1/wechat/callback",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/plain": {}}, "description": "the echostr, when the signature holds"},
        **REFUSALS,
    },
    summary="URL verification: answer echostr when signature = sha1(sorted(token, timestamp, nonce))",
)
async def verify_url(
    runtime: IntakeRuntime,
    echostr: Annotated[str, Query(max_length=512)],
    timestamp: Annotated[str, Query(max_length=32)],
    nonce: Annotated[str, Query(max_length=64)],
    signature: SigParam = None,
) -> PlainTextResponse:
    protocol(runtime).check(signature, timestamp, nonce)
    return PlainTextResponse(echostr)


@router.post(
    "/v1/wechat/callback",
    response_class=Response,
    responses={
        200: {
            "content": {"application/xml": {}, "text/plain": {}},
            "description": "a passive reply naming the report number, or `success`",
        },
        **REFUSALS,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/xml": {"schema": {"type": "string"}}, "application/xml": {"schema": {"type": "string"}}},
        }
    },
    summary="A message pushed by WeChat (plain or safe mode); one citizen session becomes one report",
)
async def receive_message(
    request: Request,
    runtime: IntakeRuntime,
    timestamp: Annotated[str, Query(max_length=32)],
    nonce: Annotated[str, Query(max_length=64)],
    signature: SigParam = None,
    msg_signature: SigParam = None,
    encrypt_type: Annotated[str | None, Query(max_length=16)] = None,
    openid: SigParam = None,
) -> Response:
    intake = intake_of(runtime)
    limit = intake.config.wechat_max_body_bytes
    media = request.headers.get("content-type", "text/xml").split(";")[0].strip().lower()
    if media not in ("text/xml", "application/xml", "text/plain"):
        raise UnsupportedMedia(f"WeChat pushes XML, not {media!r}", field="Content-Type")
    if int(request.headers.get("content-length") or 0) > limit:
        raise TooLarge(f"message is larger than {limit} bytes", field="body")
    raw = await request.body()
    params = {
        "timestamp": timestamp,
        "nonce": nonce,
        "signature": signature,
        "msg_signature": msg_signature,
        "encrypt_type": encrypt_type,
    }
    gateway = protocol(runtime)
    message, encrypted = gateway.open(raw, params=params, max_bytes=limit)
    async with runtime.transaction() as session:
        content = await wechat.receive(intake, session, message)
    ANSWERS.labels("wechat", message.intent()).inc()
    if not content:
        return PlainTextResponse("success")  # WeChat's "received, no reply" answer
    return Response(gateway.reply(message, content, encrypted=encrypted, nonce=nonce), media_type="application/xml")
