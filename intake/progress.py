"""WeChat progress (进度推送): a citizen who reported through the official account hears when the case is
accepted, dispatched, handled and closed, with its case number.

WeChat lets customer-service messages (客服消息) reach a citizen only within 48 hours of their last message;
after that, progress goes as a template message (模板消息, `wechat_progress_template_id`). Every message a
citizen sends moves their window (`wechat_contacts`); a customer-service send WeChat refuses as out of time
(45015: our record and WeChat's disagree) goes again at once as a template.

The case event's handler writes a row in its own transaction; a worker sends it through wechatpy's client
(which caches the access token and fetches a new one when WeChat says it expired) and retries with backoff.
A failure only ever leaves a row pending or failed: the case moves on regardless.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.memorystorage import MemoryStorage

from intake.config import IntakeSettings
from intake.models import report_status, reports, wechat_contacts, wechat_progress
from shared.calendar import SHANGHAI
from shared.contracts.cases import CaseClosed, CaseDispatched, CaseEvent, CaseFiled, CaseHandled
from shared.logging import get_logger
from shared.service import ServiceRuntime

log = get_logger(__name__)


STEPS: dict[type[CaseEvent], str] = {
    CaseFiled: "accepted",
    CaseDispatched: "dispatched",
    CaseHandled: "handled",
    CaseClosed: "closed",
}


STEP_NAMES = {"accepted": "已受理", "dispatched": "已派遣", "handled": "已处置", "closed": "已结案"}
OUT_OF_TIME = 45015
"""WeChat's errcode for a customer-service message outside the citizen's 48 h window."""


def message_text(step: str, body: CaseEvent) -> str:
    case_no = body.case_no
    if step == "accepted":
        return f"您反映的问题已受理，案件编号 {case_no}。"
    if step == "dispatched":
        return f"案件 {case_no} 已派遣至 {body.department_code or '责任单位'} 处理。"
    if step == "handled":
        result = getattr(body, "result", "")
        return f"案件 {case_no} 已处置：{result}" if result else f"案件 {case_no} 已处置完毕。"
    return f"案件 {case_no} 已结案，感谢您的参与。"


def step_of(body: CaseEvent) -> str | None:
    """The progress step a case event tells the citizen of, if any (a redispatch is not news to them)."""
    if isinstance(body, CaseDispatched) and body.redispatch:
        return None
    return next((s for kind, s in STEPS.items() if isinstance(body, kind)), None)


async def record(session: AsyncSession, bodies: Sequence[CaseEvent], at: datetime) -> None:
    """Owe each WeChat reporter of these cases one message per step, in event order (a redelivered event adds
    nothing): one statement to find the reporters of all the batch's cases, one to write the messages."""
    steps = [(body, step) for body in bodies if (step := step_of(body)) is not None]
    if not steps:
        return
    stmt = (
        select(report_status.c.case_id, reports.c.report_id, reports.c.body["reporter"]["id"].astext.label("openid"))
        .join(report_status, report_status.c.report_id == reports.c.report_id)
        .where(report_status.c.case_id.in_({body.case_id for body, _ in steps}), reports.c.channel == "wechat")
        .order_by(reports.c.report_id)
    )
    reporters: dict[str, list[Any]] = {}
    for row in (await session.execute(stmt)).all():
        if row.openid:
            reporters.setdefault(row.case_id, []).append(row)
    rows = [
        {
            "report_id": r.report_id,
            "openid": r.openid,
            "step": step,
            "text": message_text(step, body),
            "case_no": body.case_no,
            "next_attempt_at": at,
            "created_at": at,
        }
        for body, step in steps
        for r in reporters.get(body.case_id, ())
    ]
    if rows:
        await session.execute(pg_insert(wechat_progress).on_conflict_do_nothing(), rows)


_HEADS = """SELECT DISTINCT ON (report_id) id FROM intake.wechat_progress WHERE status = 'pending'
             ORDER BY report_id, id"""
_CLAIM = text(f"""
    WITH heads AS ({_HEADS}),
    due AS (SELECT p.id FROM intake.wechat_progress p JOIN heads ON heads.id = p.id
            WHERE p.status = 'pending' AND p.next_attempt_at <= :now
            ORDER BY p.next_attempt_at, p.id LIMIT :limit FOR UPDATE OF p SKIP LOCKED)
    UPDATE intake.wechat_progress p SET attempts = p.attempts + 1, next_attempt_at = :lease
    FROM due WHERE p.id = due.id
    RETURNING p.id, p.openid, p.text, p.attempts, p.step, p.case_no, p.created_at,
              (SELECT c.last_message_at FROM intake.wechat_contacts c WHERE c.openid = p.openid) AS last_message_at
""")
"""Only the oldest pending message of each report goes: a citizen never hears "closed" before "accepted"."""
_ANY_DUE = text(f"""SELECT EXISTS (SELECT 1 FROM intake.wechat_progress p JOIN ({_HEADS}) heads ON heads.id = p.id
                    WHERE p.next_attempt_at <= :now)""")


async def touch_contact(session: AsyncSession, openid: str, at: datetime) -> None:
    """The citizen wrote: their customer-service window runs 48 h from now."""
    stmt = pg_insert(wechat_contacts).values(openid=openid, last_message_at=at)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[wechat_contacts.c.openid],
            set_={"last_message_at": func.greatest(wechat_contacts.c.last_message_at, stmt.excluded.last_message_at)},
        )
    )


def template_data(row: Any) -> dict[str, dict[str, str]]:
    """The progress template's fields (see `IntakeSettings.wechat_progress_template_id`)."""
    return {
        "first": {"value": row.text},
        "keyword1": {"value": row.case_no or ""},
        "keyword2": {"value": STEP_NAMES.get(row.step, row.step)},
        "keyword3": {"value": row.created_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")},
        "remark": {"value": ""},
    }


class ConfigurableClient(WeChatClient):  # type: ignore[misc]
    """wechatpy's client with the token URL under the configured base too (wechatpy hard-codes it)."""

    def fetch_access_token(self) -> Any:
        return self._fetch_access_token(
            url=f"{self.API_BASE_URL.rstrip('/')}/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


class ProgressSender:
    def __init__(self, runtime: ServiceRuntime, config: IntakeSettings, client: ConfigurableClient) -> None:
        self.runtime = runtime
        self.config = config
        self.client = client

    @classmethod
    def build(cls, runtime: ServiceRuntime, config: IntakeSettings) -> ProgressSender | None:
        app_id, secret = runtime.settings.wechat_app_id, config.wechat_app_secret.get_secret_value()
        if not (app_id and secret):
            return None
        client = ConfigurableClient(app_id, secret, session=MemoryStorage(), timeout=config.wechat_timeout_s)
        client.API_BASE_URL = config.wechat_api_base_url  # a private deployment's gateway, or a test's fake
        return cls(runtime, config, client)

    def in_window(self, last_message_at: datetime | None, now: datetime) -> bool:
        window = timedelta(seconds=self.config.wechat_service_window_s)
        return last_message_at is not None and now - last_message_at < window

    def _send(self, row: Any, now: datetime) -> str:
        """Send one progress message; returns the API that delivered it (custom | template)."""
        if self.in_window(row.last_message_at, now):
            try:
                self.client.message.send_text(row.openid, row.text)
                return "custom"
            except WeChatClientException as exc:
                if exc.errcode != OUT_OF_TIME:
                    raise
        template = self.config.wechat_progress_template_id
        if not template:
            raise RuntimeError(
                "the citizen's 48 h customer-service window has passed and no progress template is configured "
                "(CITYLOOP_INTAKE_WECHAT_PROGRESS_TEMPLATE_ID)"
            )
        self.client.message.send_template(row.openid, template, template_data(row))
        return "template"

    async def sweep(self, limit: int = 50) -> int:
        now = self.runtime.clock.now()
        async with self.runtime.transaction() as session:
            rows = list(
                (await session.execute(_CLAIM, {"now": now, "limit": limit, "lease": now + timedelta(minutes=5)})).all()
            )
        for row in rows:
            try:
                via = await asyncio.to_thread(self._send, row, now)
                values: dict[str, Any] = {
                    "status": "sent",
                    "sent_at": self.runtime.clock.now(),
                    "last_error": None,
                    "via": via,
                }
            except Exception as exc:  # WeChat down, token refused, user blocked the account: never the case's problem
                failed = row.attempts >= self.config.wechat_max_attempts
                wait = min(3600.0, 10.0 * 2 ** (row.attempts - 1)) * (0.5 + random.random() / 2)
                values = {
                    "status": "failed" if failed else "pending",
                    "last_error": repr(exc)[:500],
                    "next_attempt_at": self.runtime.clock.now() + timedelta(seconds=wait),
                }
                log.info("wechat_progress_failed", id=row.id, attempt=row.attempts, error=repr(exc)[:200])
            async with self.runtime.transaction() as session:
                await session.execute(update(wechat_progress).where(wechat_progress.c.id == row.id).values(**values))
        return len(rows)

    async def any_due(self) -> bool:
        async with self.runtime.sessions() as session:
            return bool((await session.execute(_ANY_DUE, {"now": self.runtime.clock.now()})).scalar())


async def progress_worker(runtime: ServiceRuntime) -> None:
    """SERVICE.workers entry: sends due progress messages; idle when WeChat is not configured."""
    sender: ProgressSender | None = runtime.services.get("intake.progress")
    if sender is None:
        await asyncio.Event().wait()  # nothing to send, ever; a worker that returned would read as dead (/readyz)
        return
    while True:
        try:
            sent = await sender.sweep()
        except Exception as exc:  # database away: rows stay pending
            log.warning("wechat_progress_sweep_failed", error=repr(exc))
            sent = 0
            await asyncio.sleep(1.0)
        if sent == 0:
            await asyncio.sleep(runtime.settings.poll_interval_s)
