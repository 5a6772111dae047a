"""Data scope on every case endpoint: another department's or another street's case is a 404, never a leak."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.workflow.conftest import Desk

PHOTO = {"uri": "media://p/1.jpg"}

# (method, path after /v1/cases/{id}, a valid body, the role that may use it)
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("GET", "", None, "department"),
    ("GET", "/audit", None, "department"),
    ("POST", "/acknowledge", None, "department"),
    ("POST", "/handle", {"result": "done", "photos": [PHOTO]}, "department"),
    ("POST", "/return", {"reason": "not ours"}, "department"),
    ("POST", "/extension", {"days": 2, "reason": "parts"}, "department"),
    ("POST", "/checkin", None, "department"),
    ("POST", "/dispatch", {"department_code": "ROADS"}, "dispatcher"),
    ("POST", "/extension/grant", None, "dispatcher"),
    ("POST", "/extension/refuse", {"reason": "no"}, "dispatcher"),
    ("POST", "/close", None, "dispatcher"),
    ("POST", "/suspend", {"reason": "wait"}, "dispatcher"),
    ("POST", "/resume", None, "dispatcher"),
    ("POST", "/withdraw", {"reason": "duplicate"}, "dispatcher"),
    ("POST", "/verify", {"passed": True, "photos": [PHOTO]}, "inspector"),
    ("POST", "/whistle", {"departments": ["ROADS"]}, "street"),
    ("POST", "/first-contact", None, "dispatcher"),
    ("POST", "/callback", {"satisfaction": "satisfied"}, "dispatcher"),
    ("POST", "/report-up", {"reason": "too big"}, "dispatcher"),
    ("POST", "/delegate", {"reason": "theirs"}, "dispatcher"),
    ("POST", "/send-back", {"reason": "not the district's"}, "dispatcher"),
    ("POST", "/rate", {"department_code": "WATER", "rating": "satisfied"}, "street"),
]
OUTSIDERS = [
    ("department", "PARKS"),
    ("street", "S02"),
    ("inspector", "S02"),
    ("dispatcher", "S02"),
    ("department", None),
    ("street", None),
]
INSIDER_UNIT = {"department": "WATER", "dispatcher": "S01", "inspector": "S01", "street": "S01"}


def test_the_table_covers_every_case_endpoint() -> None:
    from workflow.endpoints import router

    routes = {(m, r.path.removeprefix("/v1/cases/{case_ref}")) for r in router.routes for m in r.methods}  # type: ignore[attr-defined]
    assert routes - {("GET", "/v1/cases")} == {(m, p) for m, p, _, _ in ENDPOINTS}


@pytest.fixture
async def case_id(desk: Desk) -> str:
    return str((await desk.file(department="WATER", street="S01"))["id"])


async def test_outsiders_get_404_on_every_case_endpoint(desk: Desk, case_id: str) -> None:
    leaks = []
    for method, path, body, _ in ENDPOINTS:
        for role, unit in OUTSIDERS:
            r = await desk.p.client.request(
                method, f"/v1/cases/{case_id}{path}", json=body, headers=desk.as_(role, unit)
            )
            if r.status_code != 404 or r.json()["error"] != {
                "code": "not_found",
                "reason": f"no case {case_id}",
                "field": "case_id",
            }:
                leaks.append((method, path, role, unit, r.status_code))
    assert leaks == []


async def test_insiders_pass_the_scope_check_on_every_case_endpoint(desk: Desk, case_id: str) -> None:
    """The same requests from the case's own department, street and district staff are never 404."""
    await desk.act(case_id, "whistle", "street", "S01", departments=["ROADS"])
    for method, path, body, role in ENDPOINTS:
        r = await desk.p.client.request(
            method, f"/v1/cases/{case_id}{path}", json=body, headers=desk.as_(role, INSIDER_UNIT[role])
        )
        assert r.status_code != 404, (method, path, r.text)
    summoned = await desk.p.client.get(f"/v1/cases/{case_id}", headers=desk.as_("department", "ROADS"))
    assert summoned.status_code == 200


async def test_lists_show_only_cases_in_scope(desk: Desk, case_id: str) -> None:
    other = (await desk.file(department="PARKS", street="S02"))["id"]

    async def ids(role: str, unit: str | None, **params: Any) -> set[str]:
        r = await desk.p.client.get("/v1/cases", headers=desk.as_(role, unit), params=params)
        return {c["id"] for c in r.json()["items"]}

    assert await ids("department", "WATER") == {case_id}
    assert await ids("department", "PARKS") == {other}
    assert await ids("street", "S02") == {other}
    assert await ids("department", None) == set()
    assert await ids("dispatcher", None) == {case_id, other}
    await desk.act(case_id, "return", "department", "WATER", reason="not ours")
    assert await ids("department", "WATER") == {case_id}  # formerly assigned: still visible
    assert await ids("department", "WATER", current="true") == set()  # but no longer "my cases"
    assert await ids("dispatcher", None, state="returned") == {case_id}
    r = await desk.p.client.get("/v1/cases", headers=desk.as_("dispatcher"), params={"state": "lost"})
    assert r.status_code == 422 and r.json()["error"]["field"].startswith("query.state")


async def test_a_wrong_role_inside_the_scope_is_403(desk: Desk, case_id: str) -> None:
    r = await desk.p.client.post(f"/v1/cases/{case_id}/close", headers=desk.as_("department", "WATER"))
    assert r.status_code == 403 and r.json()["error"]["field"] == "role"
    r = await desk.p.client.get(f"/v1/cases/{case_id}")
    assert r.status_code == 401
