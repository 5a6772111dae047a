"""BOLA at every level: a case held by a community, a street or the district is a 404 on every case endpoint for
every other community's and street's staff and grid workers, and is reachable by those of its own place."""

from __future__ import annotations

import pytest

from tests.integration.workflow.conftest import Desk
from tests.integration.workflow.test_scope import ENDPOINTS

LEVELS = {  # level → what the routing decision says
    "community": {"department": "S01-C1-GRID", "level": "community", "level_unit": "S01-C1"},
    "street": {"department": "S01-SQUAD", "level": "street", "level_unit": "S01"},
    "district": {"department": "WATER"},
}
OUTSIDERS = [  # (role, unit, level claim)
    ("dispatcher", "S02-C1", "community"),  # another community's centre
    ("inspector", "S02-C1", "community"),
    ("dispatcher", "S02", None),  # another street's centre
    ("street", "S02", None),
    ("department", "S02-C1-GRID", None),  # another community's grid workers
    ("department", "S01-C1-GRID", None),  # this community's grid workers, never given the case
]


@pytest.mark.parametrize("level", list(LEVELS))
async def test_outsiders_of_every_level_get_404_on_every_case_endpoint(desk: Desk, level: str) -> None:
    cid = (await desk.file(**LEVELS[level]))["id"]
    leaks = []
    for method, path, body, _ in ENDPOINTS:
        for role, unit, claim in OUTSIDERS:
            if level == "community" and unit == "S01-C1-GRID":
                continue  # it holds this one
            r = await desk.p.client.request(
                method, f"/v1/cases/{cid}{path}", json=body, headers=desk.as_(role, unit, claim)
            )
            if r.status_code != 404 or r.json()["error"]["field"] != "case_id":
                leaks.append((method, path, role, unit, r.status_code))
    assert leaks == []


@pytest.mark.parametrize("level", list(LEVELS))
async def test_the_cases_own_community_and_street_pass_the_scope_check(desk: Desk, level: str) -> None:
    cid = (await desk.file(**LEVELS[level]))["id"]
    for method, path, body, _ in ENDPOINTS:
        for role, unit, claim in (("dispatcher", "S01-C1", "community"), ("dispatcher", "S01", None)):
            r = await desk.p.client.request(
                method, f"/v1/cases/{cid}{path}", json=body, headers=desk.as_(role, unit, claim)
            )
            assert r.status_code != 404, (level, method, path, role, unit, r.text)
