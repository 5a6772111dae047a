"""HTTP in, events out: a 12345 ticket becomes a case dispatched to the department that owns it.

Runs all four services over Kafka (the product's path) and over the in-process bus, which must agree.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import orjson
import pytest

from intake.signing import signed_headers
from services.registry import load_many
from shared.bus.base import Bus
from shared.bus.kafka import KafkaBus
from tests.support.harness import RunningPlatform, running_platform

pytestmark = pytest.mark.kafka


@pytest.fixture(params=["local", "kafka"])
async def platform(request: pytest.FixtureRequest, pg_url: str) -> AsyncIterator[RunningPlatform]:
    bus: Bus | None = None
    if request.param == "kafka":
        bus = KafkaBus(request.getfixturevalue("kafka_bootstrap"), client_id=f"e2e-{uuid.uuid4().hex[:6]}")
    async with running_platform(pg_url, load_many("all"), bus=bus) as p:
        yield p


async def file_ticket(p: RunningPlatform, ticket_no: str, content: str, address: str) -> str:
    body = orjson.dumps(
        {
            "ticket_no": ticket_no,
            "call_time": datetime.now(UTC).isoformat(),
            "caller": {"name": "王女士", "phone": "13800138000"},
            "content": content,
            "address": address,
            "hotline_class": "general",
        }
    )
    secret = p.settings.hotline_hmac_secret.get_secret_value()
    response = await p.client.post(
        "/v1/hotline/tickets", content=body, headers=signed_headers(secret, body, datetime.now(UTC))
    )
    assert response.status_code == 202, response.text
    return str(response.json()["report_id"])


async def test_hotline_ticket_becomes_a_case_dispatched_to_enforcement(platform: RunningPlatform) -> None:
    p = platform
    ticket = f"E2E-{uuid.uuid4().hex[:8]}"
    report_id = await file_ticket(p, ticket, "草河北路12号门口有人占道经营摆摊卖水果，影响行人通行", "草河北路12号")
    await p.drain(timeout_s=90)
    status = (await p.client.get(f"/v1/reports/{report_id}", headers=p.auth("dispatcher"))).json()
    assert status["stage"] == "routed"
    assert status["department_code"] == "CGZF"
    assert status["case"]["state"] == "dispatched"
    case = (await p.client.get(f"/v1/cases/{status['case']['case_id']}", headers=p.auth("dispatcher"))).json()
    assert case["category"]["code"] == "I0508"
    assert case["deadline_profile"] == "1515-general"
    assert {d["kind"] for d in case["deadlines"]} >= {"first_contact", "handle"}
    events = await p.events("cases.v1")
    types = [e.type for e in events if e.subject == case["id"]]
    assert types[:2] == ["cityloop.case.filed.v1", "cityloop.case.dispatched.v1"]
    # the department that owns it sees it; another department does not
    mine = await p.client.get("/v1/cases", headers=p.auth("department", unit="CGZF"))
    assert case["id"] in {c["id"] for c in mine.json()["items"]}
    other = await p.client.get(f"/v1/cases/{case['id']}", headers=p.auth("department", unit="HW"))
    assert other.status_code == 404


async def test_same_ticket_twice_is_one_report_and_one_case(platform: RunningPlatform) -> None:
    p = platform
    ticket = f"E2E-{uuid.uuid4().hex[:8]}"
    first = await file_ticket(p, ticket, "草河北路8号路边垃圾桶满了，垃圾溢出来好几天没人清运", "草河北路8号")
    body = orjson.dumps(
        {
            "ticket_no": ticket,
            "call_time": datetime.now(UTC).isoformat(),
            "content": "草河北路8号路边垃圾桶满了",
            "address": "草河北路8号",
        }
    )
    again = await p.client.post(
        "/v1/hotline/tickets",
        content=body,
        headers=signed_headers(p.settings.hotline_hmac_secret.get_secret_value(), body, datetime.now(UTC)),
    )
    assert again.status_code == 200
    assert again.json()["report_id"] == first
    await p.drain(timeout_s=90)
    cases = (await p.client.get("/v1/cases", headers=p.auth("admin"))).json()["items"]
    assert [c["report_id"] for c in cases] == [first]  # a fresh database: this ticket's case only
