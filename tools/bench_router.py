"""Latency of `route()` in-process with the full demo district loaded: p50/p99 over ~5,000 generated reports.

    python -m tools.bench_router [--reports 5000] [--seed 7]

Reports are a channel mix like the city's (hotline tickets with only an address, patrol reports with GPS,
WeChat snapshots in GCJ-02, video and IoT alerts), texts from the held-out corpus; routed reports become
open primaries, so later ones are checked for duplicates against a growing index.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from router.classify import read_tsv
from router.config import DATA_DIR, RouterSettings
from router.merge import InMemoryPrimaries, OpenPrimary
from router.reference import ReferenceData
from router.routing import route
from router.rules import parse_rules
from shared.contracts.common import Crs
from shared.contracts.reports import ReportReceived
from shared.contracts.routing import RoutingDecided
from shared.geo import from_wgs84

START = datetime(2025, 3, 3, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def generate(ref: ReferenceData, n: int, seed: int) -> list[ReportReceived]:
    rng = random.Random(seed)
    texts = [(label, text) for label, text in read_tsv(DATA_DIR / "corpus" / "heldout.tsv")]
    places = [p for p in ref.locator.gazetteer.places if p.kind.value in ("road", "landmark")]
    cells = list(ref.locator.cells)
    reports = []
    for i in range(n):
        label, text = rng.choice(texts)
        at = START + timedelta(minutes=i * 2)
        cell = rng.choice(cells).geometry.representative_point()
        data: dict[str, Any] = {
            "report_id": f"b{i:05d}",
            "reporter": {"kind": "citizen"},
            "received_at": at,
            "text": text,
        }
        channel = rng.choices(["hotline", "patrol", "wechat", "video", "iot"], weights=[45, 25, 15, 10, 5])[0]
        data["channel"] = channel
        if channel == "hotline":
            place = rng.choice(places)
            data.update(place={"address": f"演示区{place.name}附近"}, hotline_class=rng.choice(["general", "complex"]))
        elif channel == "patrol" and label != "none":
            data.update(
                category_hint={"scheme": "taxonomy", "code": label},
                place={"point": {"lon": cell.x, "lat": cell.y, "crs": "WGS84"}},
            )
        elif channel == "wechat":
            lon, lat = from_wgs84(cell.x, cell.y, Crs.GCJ02)
            data["place"] = {"point": {"lon": lon, "lat": lat, "crs": "GCJ02"}}
        elif channel == "video":
            data.update(
                category_hint={"scheme": "video", "code": rng.choice(["street_vending", "exposed_garbage"])},
                place={"point": {"lon": cell.x, "lat": cell.y, "crs": "WGS84"}},
                text="",
            )
        else:
            device = rng.choice(sorted(ref.device_owners))
            kind = {"SMK": "smoke", "GAS": "gas", "WL-": "water_level", "MH-": "manhole_tilt"}.get(device[:3], "smoke")
            data.update(
                channel="iot",
                category_hint={"scheme": "iot", "code": kind},
                attributes={"device_id": device},
                place={"point": {"lon": cell.x, "lat": cell.y, "crs": "WGS84"}},
                severity=rng.choice(["minor", "major", "critical"]),
            )
        reports.append(ReportReceived.model_validate(data))
    return reports


def machine() -> str:
    cpu = platform.processor() or "?"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    return (
        f"{platform.system()} {platform.release()} · {cpu} · {os.cpu_count()} logical CPUs · "
        f"Python {platform.python_version()} · load average {load[0]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()
    settings = RouterSettings()
    ref = ReferenceData.load(settings)
    rules = parse_rules(settings.rules_path.read_text(encoding="utf-8"), str(settings.rules_path), ref.context, 1)
    loaded_s = time.perf_counter() - started
    reports = generate(ref, args.reports, args.seed)
    primaries = InMemoryPrimaries()
    for warm in reports[:200]:
        route(warm, ref, rules, InMemoryPrimaries(), warm.received_at)

    gc.freeze()  # the reference data lives as long as the process: keep it out of every collection
    wall: list[float] = []
    cpu: list[float] = []
    outcomes: dict[str, int] = {}
    for report in reports:
        t0, c0 = time.perf_counter(), time.thread_time()
        decision = route(report, ref, rules, primaries, report.received_at)
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - t0)
        outcomes[decision.outcome] = outcomes.get(decision.outcome, 0) + 1
        body = decision.body
        if isinstance(body, RoutingDecided) and body.location is not None:
            primaries.add(
                OpenPrimary(
                    body.report_id, body.category.code, body.location.lon, body.location.lat, report.received_at
                )
            )

    print(f"machine: {machine()}")
    print(
        f"district: {len(ref.locator.cells)} cells, {len(ref.locator.gazetteer)} gazetteer places, "
        f"{len(ref.departments.by_code)} departments, {len(ref.taxonomy)} categories, "
        f"{len(rules.ordered)} rules; loaded in {loaded_s:.1f} s {ref.load_seconds}"
    )
    print(f"route(): {len(wall)} reports, outcomes {outcomes}")
    for name, samples in (("wall clock", wall), ("CPU time of the thread", cpu)):
        ms = sorted(t * 1000 for t in samples)
        q = statistics.quantiles(ms, n=100)
        print(
            f"route() {name}: p50 {q[49]:.2f} ms · p90 {q[89]:.2f} ms · p99 {q[98]:.2f} ms · "
            f"max {ms[-1]:.2f} ms · mean {statistics.fmean(ms):.2f} ms"
        )
    print("(wall clock includes time the OS gave other processes; on a busy machine CPU time is the routing cost)")


if __name__ == "__main__":
    main()
