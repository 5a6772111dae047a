"""The patrol officer learns what became of their reports: all four services on the in-process bus."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.registry import load_many
from tests.support.harness import RunningPlatform, running_platform

FORM = {"category_code": "0102", "lon": "116.4342", "lat": "39.9405", "description": "路边暴露垃圾，需清运"}
PHOTO = {"uri": "/v1/media/" + "c" * 64 + ".jpg", "sha256": "c" * 64}


@pytest.fixture
async def platform(pg_url: str) -> AsyncIterator[RunningPlatform]:
    async with running_platform(pg_url, load_many("all")) as p:
        yield p


async def test_an_inspector_sees_their_own_reports_with_case_state_and_result(platform: RunningPlatform) -> None:
    p = platform
    mine = p.auth("inspector", subject="inspector1")
    filed = await p.client.post("/v1/patrol/reports", data=FORM, headers=mine)
    other = await p.client.post(
        "/v1/patrol/reports", data={**FORM, "description": "别人的"}, headers=p.auth("inspector", subject="inspector2")
    )
    assert filed.status_code == 202 and other.status_code == 202
    await p.drain(timeout_s=90)
    status = (await p.client.get(f"/v1/reports/{filed.json()['report_id']}", headers=p.auth("dispatcher"))).json()
    case_id, department = status["case"]["case_id"], status["department_code"]
    before = (await p.client.get("/v1/patrol/my-reports", headers=mine)).json()["items"]

    dept = p.auth("department", unit=department, subject=f"dept-{department}")
    assert (await p.client.post(f"/v1/cases/{case_id}/acknowledge", headers=dept)).status_code == 200
    handled = await p.client.post(
        f"/v1/cases/{case_id}/handle", headers=dept, json={"result": "垃圾已清运完毕", "photos": [PHOTO]}
    )
    assert handled.status_code == 200, handled.text
    await p.drain(timeout_s=90)
    after = (await p.client.get("/v1/patrol/my-reports", headers=mine)).json()["items"]
    refused = await p.client.get("/v1/patrol/my-reports", headers=p.auth("dispatcher"))

    assert [r["report_id"] for r in before] == [filed.json()["report_id"]], "only the inspector's own reports"
    assert before[0]["case_state"] == "dispatched" and before[0]["result"] is None
    assert before[0]["case_no"] == status["case"]["case_no"] and before[0]["text"] == FORM["description"]
    assert after[0]["case_state"] == "handled" and after[0]["result"] == "垃圾已清运完毕"
    assert after[0]["result_at"] is not None and after[0]["department_code"] == department
    assert refused.status_code == 403
