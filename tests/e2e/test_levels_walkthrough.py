"""The README's tiered-handling walkthrough on the demo district, HTTP in: routing picks the level, each level's
own people work it, 上报 reaches the street's stationed squad and 下派 the community's grid workers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.registry import load_many
from tests.support.harness import RunningPlatform, running_platform

CAOHE = {"lon": "116.394467", "lat": "39.928105"}  # 草河北路: street 110199011, community 110199011003
STREET, COMMUNITY = "110199011", "110199011003"
PHOTOS = [{"uri": "https://example.org/p.jpg"}]


@pytest.fixture
async def p(pg_url: str) -> AsyncIterator[RunningPlatform]:
    async with running_platform(pg_url, load_many("all")) as platform:
        yield platform


async def login(p: RunningPlatform, username: str) -> dict[str, str]:
    r = await p.client.post("/v1/auth/token", data={"username": username, "password": "demo"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def patrol(p: RunningPlatform, category: str, text: str) -> dict[str, Any]:
    r = await p.client.post(
        "/v1/patrol/reports",
        data={"category_code": category, "description": text, **CAOHE},
        headers=p.auth("inspector", subject="inspector1"),
    )
    assert r.status_code == 202, r.text
    await p.drain(timeout_s=60)
    status = (await p.client.get(f"/v1/reports/{r.json()['report_id']}", headers=p.auth("dispatcher"))).json()
    case = await p.client.get(f"/v1/cases/{status['case']['case_id']}", headers=p.auth("admin"))
    return case.json()  # type: ignore[no-any-return]


async def act(p: RunningPlatform, who: dict[str, str], case: dict[str, Any], action: str, **body: Any) -> Any:
    r = await p.client.post(f"/v1/cases/{case['id']}/{action}", json=body or None, headers=who)
    assert r.status_code == 200, (action, r.text)
    return r.json()


async def test_the_three_loops_of_the_readme(p: RunningPlatform) -> None:
    community = await login(p, f"community-{COMMUNITY}")  # its token carries level: community
    grid = await login(p, f"dept-WG{COMMUNITY}")
    centre = await login(p, f"centre-{STREET}")
    squad = await login(p, f"dept-ZF{STREET}")
    district, inspector = p.auth("dispatcher", subject="dispatcher1"), p.auth("inspector", subject="inspector1")

    # 1. 网格小循环: the rule gives pet mess to the community's grid workers, who handle it; the community closes
    c1 = await patrol(p, "I0116", "楼下宠物粪便没人清理")
    assert (c1["level"], c1["level_unit"], c1["department_code"]) == ("community", COMMUNITY, f"WG{COMMUNITY}")
    assert "level:community" in {d["kind"] for d in c1["deadlines"]}
    await act(p, grid, c1, "acknowledge")
    await act(p, grid, c1, "handle", result="已清理", photos=PHOTOS)
    await act(p, inspector, c1, "verify", passed=True, photos=PHOTOS)
    assert (await act(p, community, c1, "close"))["state"] == "closed"

    # 2. 街镇中循环: graffiti reported up by the grid worker; the street centre dispatches its stationed squad
    c2 = await patrol(p, "I0206", "小区外墙被大面积喷涂")
    await act(p, grid, c2, "report-up", reason="涉及商户违法喷涂，需执法")
    queue = await p.client.get("/v1/cases", headers=centre, params={"level": "street", "state": "filed"})
    assert c2["id"] in {c["id"] for c in queue.json()["items"]}
    await act(p, centre, c2, "dispatch", department_code=f"ZF{STREET}")
    assert (await act(p, squad, c2, "acknowledge"))["state"] == "acknowledged"
    await act(p, squad, c2, "handle", result="已清除并责令整改", photos=PHOTOS)
    await act(p, await login(p, f"street-{STREET}"), c2, "rate", department_code=f"ZF{STREET}", rating="satisfied")
    outsider = await p.client.get(f"/v1/cases/{c2['id']}", headers=await login(p, "community-110199011001"))
    assert outsider.status_code == 404

    # 3. 区级大循环 handing down: a sanitation case the district delegates to the street, and the street to the grid
    c3 = await patrol(p, "I0102", "路口垃圾散落")
    assert c3["level"] == "district"
    await act(p, district, c3, "delegate", reason="属地问题，请街道就近处置")
    await act(p, centre, c3, "delegate", reason="网格员就近处置")
    done = await act(p, community, c3, "dispatch", department_code=f"WG{COMMUNITY}")
    assert (done["level"], done["department_code"]) == ("community", f"WG{COMMUNITY}")

    await p.drain(timeout_s=60)
    kpis = await p.client.get("/v1/kpis", headers=p.auth("supervisor"), params={"dimension": "community"})
    assert kpis.status_code == 200, kpis.text
    row = next(r for r in kpis.json()["rows"] if r["key"] == COMMUNITY)
    assert row["scores"]["community_closure_rate"]["numerator"] == 1
    assert row["scores"]["community_closure_rate"]["denominator"] == 3
    assert row["scores"]["delegation_rate"]["numerator"] == 1
    assert row["scores"]["report_up_rate"]["numerator"] == 1
    by_department = await p.client.get("/v1/kpis", headers=p.auth("supervisor"), params={"dimension": "department"})
    squad_row = next(r for r in by_department.json()["rows"] if r["key"] == f"ZF{STREET}")
    rating = squad_row["scores"]["street_rating_rate"]
    assert (rating["numerator"], rating["denominator"]) == (1, 1)
    assert squad_row["scores"]["composite_score"]["value"] is not None
