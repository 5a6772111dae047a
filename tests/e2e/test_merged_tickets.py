"""HTTP in, events out, over Kafka: a complex 12345 ticket about a problem already open is merged (并案) by the
router, and the case keeps what its caller is owed: its class, its 15 working days, its own first contact."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import orjson
import pytest

from intake.signing import signed_headers
from services.registry import load_many
from shared.bus.kafka import KafkaBus
from tests.support.harness import RunningPlatform, running_platform

pytestmark = pytest.mark.kafka

CONTENT = "草河北路12号门口有人占道经营摆摊卖水果，影响行人通行"
ADDRESS = "草河北路12号"


@pytest.fixture
async def platform(pg_url: str, kafka_bootstrap: str) -> AsyncIterator[RunningPlatform]:
    bus = KafkaBus(kafka_bootstrap, client_id=f"e2e-merge-{uuid.uuid4().hex[:6]}")
    async with running_platform(pg_url, load_many("all"), bus=bus) as p:
        yield p


async def ticket(p: RunningPlatform, hotline_class: str) -> str:
    body = orjson.dumps(
        {
            "ticket_no": f"E2E-{uuid.uuid4().hex[:8]}",
            "call_time": datetime.now(UTC).isoformat(),
            "caller": {"name": "李先生", "phone": "13900139000"},
            "content": CONTENT,
            "address": ADDRESS,
            "hotline_class": hotline_class,
        }
    )
    secret = p.settings.hotline_hmac_secret.get_secret_value()
    response = await p.client.post(
        "/v1/hotline/tickets", content=body, headers=signed_headers(secret, body, datetime.now(UTC))
    )
    assert response.status_code == 202, response.text
    return str(response.json()["report_id"])


async def test_a_complex_ticket_merged_by_the_router_keeps_its_class_and_its_own_clocks(
    platform: RunningPlatform,
) -> None:
    p = platform
    first = await ticket(p, "general")
    await p.drain(timeout_s=90)
    second = await ticket(p, "complex")
    await p.drain(timeout_s=90)

    merged = [e for e in await p.events("routing.decided.v1") if e.subject == second]
    assert [e.type for e in merged] == ["cityloop.routing.merged.v1"]
    assert merged[0].data["deadline_profile"] == "1515-complex" and merged[0].data["hotline_class"] == "complex"

    cases = (await p.client.get("/v1/cases", headers=p.auth("admin"))).json()["items"]
    assert len(cases) == 1 and cases[0]["report_ids"] == [first, second]
    case = cases[0]
    assert case["deadline_profile"] == "1515-general"
    mine = next(c for c in case["callers"] if c["report_id"] == second)
    assert mine["hotline_class"] == "complex" and mine["deadline_profile"] == "1515-complex"
    handle = next(d for d in case["deadlines"] if d["kind"] == "handle")
    assert mine["result_due_at"] > handle["due_at"], "15 working days of its own; the case keeps the general 5"
    contact = next(d for d in case["deadlines"] if d["kind"] == f"first_contact:{second}")
    assert contact["status"] == "active" and contact["due_at"] == mine["first_contact_due_at"]
