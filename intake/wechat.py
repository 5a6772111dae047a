"""WeChat official account: the server protocol (wechatpy) and citizen sessions.

Session rules (one citizen, one report at a time):
- The first text, photo or location message opens a draft and reserves its report number, which every
  passive reply names.
- Further text, photos (up to nine) and a location within the session window join the same draft.
- "提交" / "完成" (or "submit" / "done") files it at once; "取消" / "cancel" discards it.
- A draft whose citizen has been silent for the whole window is filed by itself (by the worker, or at the
  citizen's next message, whichever comes first); that next message then opens a new draft.
- WeChat retries an unanswered message up to three times: the same MsgId gets the same reply and is
  counted once.
"""

from __future__ import annotations

import asyncio
import binascii
import struct
import time
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from intake import repository as repo
from intake.adapters.wechat import Draft, WeChatMessage, apply_message, draft_to_report, parse_xml, read_message
from intake.metrics import WECHAT_DRAFTS_FILED
from intake.progress import touch_contact
from intake.repository import AnyRow
from intake.service import Intake
from shared.errors import Invalid, Unauthorized
from shared.logging import get_logger
from shared.service import ServiceRuntime

log = get_logger(__name__)

OPENED = "已收到，上报编号 {id}。可继续发送文字、照片和位置；发送“提交”完成上报（{minutes} 分钟内无新消息将自动提交）。"
ADDED = "已补充到上报 {id}（文字 {texts} 条，照片 {photos} 张，{where}）。发送“提交”完成上报。"
SUBMITTED = "上报 {id} 已提交，我们会尽快处理。"
NOTHING_TO_SUBMIT = "当前没有待提交的上报。请先发送问题描述、照片或位置。"
CANCELLED = "已取消上报 {id}。"
NOTHING_TO_CANCEL = "当前没有待提交的上报。"
WELCOME = "欢迎使用城市随手拍：发送文字描述、照片和位置即可上报城市管理问题，发送“提交”完成上报。"
UNSUPPORTED = "暂不支持该类型消息，请发送文字、照片或位置。"


class WeChatProtocol:
    """Signatures, and safe mode (AES) with the account's EncodingAESKey, as the WeChat server speaks them."""

    def __init__(self, token: str, aes_key: str, app_id: str) -> None:
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None

    def check(self, signature: str | None, timestamp: str, nonce: str) -> None:
        try:
            check_signature(self.token, signature or "", timestamp, nonce)
        except InvalidSignatureException as exc:
            raise Unauthorized("signature does not match token, timestamp and nonce", field="signature") from exc

    def open(self, raw: bytes, *, params: dict[str, str | None], max_bytes: int) -> tuple[WeChatMessage, bool]:
        """Verify and (in safe mode) decrypt a pushed message; returns it and whether it came encrypted."""
        timestamp, nonce = params.get("timestamp") or "", params.get("nonce") or ""
        outer = parse_xml(raw, max_bytes=max_bytes)
        if params.get("encrypt_type") != "aes":
            self.check(params.get("signature"), timestamp, nonce)
            return read_message(outer), False
        if self.crypto is None:
            raise Invalid("safe mode (encrypt_type=aes) is not configured on this account", field="encrypt_type")
        if not outer.get("Encrypt"):
            raise Invalid("safe-mode message has no <Encrypt> element", field="Encrypt")
        if params.get("signature"):
            self.check(params.get("signature"), timestamp, nonce)
        try:
            plain = self.crypto.decrypt_message(outer, params.get("msg_signature") or "", timestamp, nonce)
        except InvalidSignatureException as exc:
            raise Unauthorized("msg_signature does not match the encrypted message", field="msg_signature") from exc
        except InvalidAppIdException as exc:
            raise Unauthorized("message was encrypted for another AppID", field="Encrypt") from exc
        except (binascii.Error, ValueError, struct.error, IndexError, TypeError) as exc:
            raise Invalid(f"Encrypt cannot be decrypted: {exc.__class__.__name__}", field="Encrypt") from exc
        return read_message(parse_xml(plain.encode(), max_bytes=max_bytes)), True

    def reply(self, message: WeChatMessage, content: str, *, encrypted: bool, nonce: str) -> str:
        """A passive text reply, encrypted when the message was."""
        xml = TextReply(
            source=message.to_user, target=message.from_user, content=content, time=int(time.time())
        ).render()
        if encrypted and self.crypto is not None:
            return str(self.crypto.encrypt_message(xml, nonce))
        return str(xml)


async def receive(intake: Intake, session: AsyncSession, message: WeChatMessage) -> str:
    """Handle one pushed message once; a retried MsgId gets the reply the first delivery got."""
    scope, key = "wechat-msg", message.dedup_key
    seen = await repo.claim(session, scope, key, report_id=None)
    if seen is not None:
        return str((seen.response or {}).get("reply", ""))
    reply, report_id = await _handle(intake, session, message)
    await repo.remember_response(session, scope, key, {"reply": reply, "report_id": report_id})
    return reply


async def _handle(intake: Intake, session: AsyncSession, message: WeChatMessage) -> tuple[str, str | None]:
    openid, now = message.from_user, intake.now()
    await repo.lock(session, "wechat", openid)
    await touch_contact(session, openid, now)
    row = await repo.open_draft(session, openid)
    if row is not None and row.last_at < now - _window(intake):
        await file_draft(intake, session, row, filed_by="timeout")
        row = None
    intent = message.intent()
    if intent == "submit":
        if row is None:
            return NOTHING_TO_SUBMIT, None
        await file_draft(intake, session, row, filed_by="citizen")
        return SUBMITTED.format(id=row.report_id), row.report_id
    if intent == "cancel":
        if row is None:
            return NOTHING_TO_CANCEL, None
        await repo.close_draft(session, row.report_id, "cancelled")
        return CANCELLED.format(id=row.report_id), row.report_id
    if intent == "subscribe":
        return WELCOME, None
    if intent == "unsupported":
        return UNSUPPORTED, None
    if intent == "ignore":
        return "", None
    if row is None:
        report_id = await intake.new_report_id(session)
        draft = apply_message(Draft(first_at=message.sent_at), message)
        await repo.insert_draft(session, report_id=report_id, openid=openid, at=now, draft=_json(draft))
        return OPENED.format(id=report_id, minutes=max(1, _window(intake).seconds // 60)), report_id
    draft = apply_message(Draft.model_validate(row.draft), message)
    await repo.save_draft(session, row.report_id, draft=_json(draft), at=now)
    where = "已定位" if draft.location else "未定位"
    return ADDED.format(id=row.report_id, texts=len(draft.texts), photos=len(draft.photos), where=where), row.report_id


async def file_draft(
    intake: Intake, session: AsyncSession, row: AnyRow, *, filed_by: Literal["citizen", "timeout"]
) -> None:
    draft = Draft.model_validate(row.draft)
    await repo.close_draft(session, row.report_id, "filed")
    report = draft_to_report(
        draft, report_id=row.report_id, openid=row.openid, received_at=row.opened_at, filed_by=filed_by
    )
    await intake.file(session, report)
    WECHAT_DRAFTS_FILED.labels(filed_by).inc()


async def file_due_drafts(intake: Intake, session: AsyncSession, limit: int = 200) -> int:
    """File every draft whose citizen went silent for the whole window; returns how many."""
    rows = await repo.due_drafts(session, intake.now() - _window(intake), limit)
    for row in rows:
        await file_draft(intake, session, row, filed_by="timeout")
    return len(rows)


async def drafts_due(intake: Intake, session: AsyncSession) -> bool:
    return await repo.any_due_draft(session, intake.now() - _window(intake))


def _window(intake: Intake) -> timedelta:
    return timedelta(seconds=intake.config.wechat_session_window_s)


def _json(draft: Draft) -> dict[str, Any]:
    return draft.model_dump(mode="json", exclude_none=True)


async def housekeeping(runtime: ServiceRuntime) -> None:
    """Worker: file silent WeChat drafts; forget hotline signatures too old to be replayed."""
    intake: Intake = runtime.services["intake"]
    window_s = runtime.settings.hotline_replay_window_s
    last_prune = 0.0
    while True:
        filed = 0
        try:
            async with runtime.transaction() as session:
                filed = await file_due_drafts(intake, session)
            if time.monotonic() - last_prune > 60:
                async with runtime.transaction() as session:
                    await repo.prune_signatures(session, intake.now() - timedelta(seconds=2 * window_s))
                last_prune = time.monotonic()
        except Exception as exc:  # the database is away: try again on the next tick
            log.warning("intake_housekeeping_failed", error=repr(exc))
            await asyncio.sleep(1.0)
        if not filed:
            await asyncio.sleep(runtime.settings.poll_interval_s)
