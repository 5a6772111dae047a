"""Targets (任务主线) and the period's indicator table over HTTP: audited changes, progress, CSV and JSON."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from analytics.definition import SERVICE
from shared.clock import ManualClock
from tests.integration.analytics.support import load
from tests.support.case_history import generate
from tests.support.harness import running_platform

TZ = ZoneInfo("Asia/Shanghai")


def _filed_in(history_cases: list[dict], start: datetime, end: datetime) -> int:
    return sum(
        1
        for e in history_cases
        if e["type"] == "cityloop.case.filed.v1" and start <= datetime.fromisoformat(e["data"]["at"]) < end
    )


async def test_targets_are_audited_and_progress_compares_actual_with_target(pg_url: str) -> None:
    history = generate(400, seed=5)
    now = history.end
    month = now.astimezone(TZ).strftime("%Y-%m")
    async with running_platform(pg_url, [SERVICE], clock=ManualClock(now)) as p:
        await load(p.runtime("analytics").sessions, history)
        sup = p.auth("supervisor", subject="planner-1")
        month_start = datetime(now.astimezone(TZ).year, now.astimezone(TZ).month, 1, tzinfo=TZ)
        kpis = (
            await p.client.get(
                "/v1/kpis",
                params={"from": month_start.isoformat(), "to": now.isoformat(), "dimension": "department"},
                headers=sup,
            )
        ).json()
        busiest = max(kpis["rows"], key=lambda r: r["scores"]["cases"]["value"])
        department = busiest["key"]

        body = {"score": "closure_rate", "scope": "department", "unit": department, "period": month, "value": 0.98}
        first = await p.client.put("/v1/targets", json=body, headers=sup)
        assert first.status_code == 200, first.text
        target_id = first.json()["target_id"]
        again = await p.client.put(
            "/v1/targets",
            json={**body, "value": 0.95, "note": "eased after the flood"},
            headers=p.auth("supervisor", subject="planner-2"),
        )
        assert again.json()["target_id"] == target_id and again.json()["value"] == 0.95
        cases_target = {"score": "cases", "scope": "total", "period": month, "value": 1_000_000}
        assert (await p.client.put("/v1/targets", json=cases_target, headers=sup)).status_code == 200

        changes = (await p.client.get(f"/v1/targets/{target_id}/changes", headers=sup)).json()
        assert [(c["action"], c["old_value"], c["new_value"], c["actor"]) for c in changes] == [
            ("set", None, 0.98, "planner-1"),
            ("changed", 0.98, 0.95, "planner-2"),
        ]

        progress = (await p.client.get("/v1/targets/progress", params={"period": month}, headers=sup)).json()
        rows = {r["score"]: r for r in progress["rows"]}
        closure = rows["closure_rate"]
        actual = busiest["scores"]["closure_rate"]["value"]
        assert closure["actual"] == actual and closure["value"] == 0.95
        assert abs(closure["gap"] - (actual - 0.95)) < 1e-12
        assert 0 < closure["elapsed"] < 1
        assert closure["at_risk"] == (closure["projection"] < 0.95)
        cases = rows["cases"]
        filed = sum(r["scores"]["cases"]["value"] for r in kpis["rows"])
        assert cases["actual"] == filed and cases["at_risk"]  # a million cases is far off
        assert abs(cases["projection"] - filed / cases["elapsed"]) < 1e-6

        own = (await p.client.get("/v1/targets", headers=p.auth("department", unit=department))).json()
        assert [t["target_id"] for t in own] == [target_id]
        other = (
            await p.client.get(
                "/v1/targets/progress", params={"period": month}, headers=p.auth("department", unit="D99")
            )
        ).json()
        assert other["rows"] == []

        for wrong, field in (
            ({"score": "happiness"}, "score"),
            ({"value": 1.5}, "value"),
            ({"period": f"{month[:4]}-13"}, "period"),
            ({"unit": None}, "unit"),
            ({"scope": "total"}, "unit"),
        ):
            refused = await p.client.put("/v1/targets", json={**body, **wrong}, headers=sup)
            assert refused.status_code == 422 and refused.json()["error"]["field"] == field, (wrong, refused.text)
        assert (
            await p.client.put("/v1/targets", json=body, headers=p.auth("department", unit=department))
        ).status_code == 403

        assert (await p.client.delete(f"/v1/targets/{target_id}", headers=sup)).status_code == 204
        assert (await p.client.delete(f"/v1/targets/{target_id}", headers=sup)).status_code == 404
        left = (await p.client.get("/v1/targets", params={"period": month}, headers=sup)).json()
        assert [t["score"] for t in left] == ["cases"]
        changes = (await p.client.get(f"/v1/targets/{target_id}/changes", headers=sup)).json()
        assert changes[-1]["action"] == "deleted" and changes[-1]["old_value"] == 0.95


async def test_indicator_table_for_a_month_quarter_and_year_in_json_and_csv(pg_url: str) -> None:
    history = generate(400, seed=6)
    local_end = history.end.astimezone(TZ)
    async with running_platform(pg_url, [SERVICE], clock=ManualClock(history.end)) as p:
        await load(p.runtime("analytics").sessions, history)
        sup = p.auth("supervisor")
        # a whole month inside the history, so its first and last days have cases
        previous = local_end.replace(day=1) - timedelta(days=1)
        month = previous.strftime("%Y-%m")
        quarter = f"{local_end.year}-Q{(local_end.month - 1) // 3 + 1}"
        for period in (month, quarter, str(local_end.year)):
            answer = (
                await p.client.get("/v1/indicators", params={"period": period, "dimension": "street"}, headers=sup)
            ).json()
            start, end = datetime.fromisoformat(answer["from"]), datetime.fromisoformat(answer["to"])
            assert start.astimezone(TZ).day == 1 and start.astimezone(TZ).hour == 0
            assert sum(r["scores"]["cases"]["value"] for r in answer["rows"]) == _filed_in(history.cases, start, end)
            assert answer["period"] == period and answer["dimension"] == "street"
            last_day = _filed_in(history.cases, end - timedelta(days=1), end)
            assert period != month or last_day > 0, "the month's last day has no case: the test would prove less"
        body = await p.client.get("/v1/indicators", params={"period": month, "format": "csv"}, headers=sup)
        assert body.headers["content-type"].startswith("text/csv")
        table = list(csv.DictReader(io.StringIO(body.text)))
        assert table and {"department", "cases", "closure_rate", "closure_rate_numerator"} <= set(table[0])
        json_rows = (await p.client.get("/v1/indicators", params={"period": month}, headers=sup)).json()["rows"]
        assert [int(float(r["cases"])) for r in table] == [r["scores"]["cases"]["value"] for r in json_rows]
        bad = await p.client.get("/v1/indicators", params={"period": "2026-Q5"}, headers=sup)
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "period"

    # the command line gives the same table (its as_of is the real now, so compare what does not depend on it)
    cli = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        "export",
        "indicators",
        "--period",
        month,
        "--format",
        "json",
        env={**os.environ, "CITYLOOP_DATABASE_URL": pg_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await cli.communicate()
    assert cli.returncode == 0, stderr.decode()
    exported = json.loads(stdout)
    assert exported["period"] == month and exported["dimension"] == "department"
    assert [(r["key"], r["scores"]["cases"]["value"], r["scores"]["closure_rate"]) for r in exported["rows"]] == [
        (r["key"], r["scores"]["cases"]["value"], r["scores"]["closure_rate"]) for r in json_rows
    ]
    refused = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        "export",
        "indicators",
        "--period",
        "November",
        env={**os.environ, "CITYLOOP_DATABASE_URL": pg_url},
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await refused.communicate()
    assert refused.returncode != 0 and b"period" in stderr
