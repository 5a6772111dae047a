"""Verification tasks (核查) listed for the inspector of the grid where each problem was found."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.workflow.conftest import DEPARTMENTS, Desk
from tests.integration.workflow.test_webhooks import _desk

PHOTO = {"uri": "media://p/1.jpg", "sha256": "a" * 64}
GRIDS = """inspectors:
  insp-a:
    street_codes: [S01]
  insp-b:
    community_codes: [S02-C1]
"""


@pytest.fixture
async def desk(pg_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[Desk]:
    (tmp_path / "grids.yaml").write_text(GRIDS, encoding="utf-8")
    monkeypatch.setenv("CITYLOOP_WORKFLOW_DEPARTMENTS_PATH", str(DEPARTMENTS))
    monkeypatch.setenv("CITYLOOP_WORKFLOW_PATROL_GRIDS_PATH", str(tmp_path / "grids.yaml"))
    async for d in _desk(pg_url):
        yield d


async def tasks(desk: Desk, inspector: str) -> list[str]:
    r = await desk.p.client.get("/v1/patrol/verification-tasks", headers=desk.p.auth("inspector", subject=inspector))
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["items"]]


async def test_a_handled_case_waits_for_the_inspector_of_its_grid_until_verified(desk: Desk) -> None:
    a = (await desk.file(street="S01"))["id"]
    b = (await desk.file(street="S02"))["id"]
    for cid in (a, b):
        await desk.act(cid, "acknowledge", "department", "WATER")
    assert await tasks(desk, "insp-a") == [] and await tasks(desk, "insp-b") == [], "nothing handled yet"
    for cid in (a, b):
        await desk.act(cid, "handle", "department", "WATER", result="fixed", photos=[PHOTO])

    assert await tasks(desk, "insp-a") == [a]
    assert await tasks(desk, "insp-b") == [b]
    assert await tasks(desk, "insp-nobody") == []
    listed = (
        await desk.p.client.get("/v1/patrol/verification-tasks", headers=desk.p.auth("inspector", subject="insp-a"))
    ).json()["items"][0]
    assert "verify" in {d["kind"] for d in listed["deadlines"]}
    admin = await desk.p.client.get(
        "/v1/patrol/verification-tasks", params={"inspector": "insp-b"}, headers=desk.p.auth("admin")
    )
    assert [c["id"] for c in admin.json()["items"]] == [b]
    refused = await desk.p.client.get("/v1/patrol/verification-tasks", headers=desk.p.auth("department", "WATER"))
    assert refused.status_code == 403

    await desk.act(a, "verify", "inspector", passed=True, photos=[PHOTO])
    assert await tasks(desk, "insp-a") == []
