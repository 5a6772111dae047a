"""The KPI API over HTTP: JSON and CSV, rankings, series, hot spots, and clear refusals."""

from __future__ import annotations

from analytics.definition import SERVICE
from shared.clock import ManualClock
from tests.integration.analytics.support import load
from tests.support.case_history import generate
from tests.support.harness import running_platform


async def test_kpis_rankings_series_hotspots_and_refusals(pg_url: str) -> None:
    history = generate(300, seed=3)
    async with running_platform(pg_url, [SERVICE], clock=ManualClock(history.end)) as p:
        await load(p.runtime("analytics").sessions, history)
        window = {"from": "2024-12-01", "to": "2026-01-01"}
        sup = p.auth("supervisor")

        kpis = (await p.client.get("/v1/kpis", params={**window, "dimension": "department"}, headers=sup)).json()
        filed = sum(1 for e in history.cases if e["type"] == "cityloop.case.filed.v1")
        assert sum(r["scores"]["cases"]["value"] for r in kpis["rows"]) == filed
        closure = kpis["rows"][0]["scores"]["closure_rate"]
        assert closure["value"] == closure["numerator"] / closure["denominator"]

        csv = await p.client.get(
            "/v1/kpis", params={**window, "dimension": "channel"}, headers={**sup, "Accept": "text/csv"}
        )
        assert csv.headers["content-type"].startswith("text/csv")
        assert csv.text.splitlines()[0].startswith("channel,cases,")

        ranking = (
            await p.client.get("/v1/kpis/ranking", params={**window, "score": "on_time_handling_rate"}, headers=sup)
        ).json()
        values = [r["value"] for r in ranking["rows"]]
        assert values == sorted(values, reverse=True) and ranking["rows"][0]["rank"] == 1

        series = (
            await p.client.get(
                "/v1/kpis/series", params={**window, "interval": "month", "score": "closure_rate"}, headers=sup
            )
        ).json()
        assert [pt["key"] for pt in series["points"]] == sorted(pt["key"] for pt in series["points"])
        assert set(series["points"][0]["scores"]) == {"closure_rate"}

        hot = (await p.client.get("/v1/hotspots", params={**window, "top": 2}, headers=sup)).json()
        assert hot["rows"] and all(r["rank"] <= 2 for r in hot["rows"])

        own = await p.client.get(
            "/v1/kpis", params={**window, "department": "D02"}, headers=p.auth("department", unit="D01")
        )
        assert own.status_code == 403 and own.json()["error"]["field"] == "department"
        bad = await p.client.get("/v1/kpis", params={"from": "yesterday"}, headers=sup)
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "from"
        unknown = await p.client.get("/v1/kpis/ranking", params={"score": "happiness"}, headers=sup)
        assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "score"
        assert (await p.client.get("/v1/kpis")).status_code == 401
