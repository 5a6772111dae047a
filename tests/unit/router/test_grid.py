"""Grid lookups: real Dongcheng street boundaries (GCJ-02) through the project's loader, the demo locator."""

from __future__ import annotations

import json

import pytest

from router.reference import ReferenceData
from shared.contracts.common import Crs
from shared.contracts.reports import ReportReceived
from shared.departments import Department, DepartmentDirectory
from shared.geo import AreaIndex, from_wgs84, to_wgs84
from tests.unit.router.conftest import realdata

LANDMARKS_WGS84 = {  # well-known places, WGS-84 (GPS), and the street (街道) they lie in
    "故宫太和殿": ((116.3972, 39.9163), "东华门街道"),
    "天坛祈年殿": ((116.4074, 39.8822), "天坛街道"),
    "北京站": ((116.4270, 39.9030), "建国门街道"),
    "雍和宫": ((116.4109, 39.9470), "北新桥街道"),
}


@pytest.fixture(scope="module")
def dongcheng() -> AreaIndex:
    return AreaIndex.from_geojson(realdata("beijing_dongcheng_jiedao.geojson"), key="name", crs=Crs.GCJ02)


def test_real_dongcheng_streets_import(dongcheng: AreaIndex) -> None:
    assert len(dongcheng) == 17
    assert 40 < sum(a.area_m2 for a in dongcheng) / 1e6 < 44  # 41.86 km² in all


@pytest.mark.parametrize("name", sorted(LANDMARKS_WGS84))
def test_known_points_land_in_their_street(dongcheng: AreaIndex, name: str) -> None:
    (lon, lat), street = LANDMARKS_WGS84[name]
    area = dongcheng.locate(lon, lat)
    assert area is not None and area.key == street
    gcj = from_wgs84(lon, lat, Crs.GCJ02)  # what a phone map app would send
    area = dongcheng.locate(*to_wgs84(*gcj, Crs.GCJ02))
    assert area is not None and area.key == street


def test_each_streets_published_label_point_is_inside_it(dongcheng: AreaIndex) -> None:
    raw = json.loads(realdata("beijing_dongcheng_jiedao.geojson").read_text(encoding="utf-8"))
    for feature in raw["features"]:
        lon, lat = feature["properties"]["label_point"]  # GCJ-02, like the polygons
        area = dongcheng.locate(*to_wgs84(lon, lat, Crs.GCJ02))
        assert area is not None and area.key == feature["properties"]["name"]


def test_locator_prefers_point_then_grid_hint_then_gazetteer(ref: ReferenceData) -> None:
    def report(**place: object) -> ReportReceived:
        return ReportReceived.model_validate(
            {
                "report_id": "r",
                "channel": "hotline",
                "reporter": {"kind": "citizen"},
                "received_at": "2025-03-03T10:00:00+08:00",
                **place,
            }
        )

    by_point = ref.locator.locate(report(place={"point": {"lon": 116.394467, "lat": 39.928105, "crs": "WGS84"}}))
    assert (by_point.method, by_point.grid.cell_code) == ("point", "110199011003003")
    by_hint = ref.locator.locate(report(grid_hint={"cell_code": "110199008010003"}))
    assert (by_hint.method, by_hint.grid.street_code) == ("grid-hint", "110199008")
    by_name = ref.locator.locate(report(place={"address": "演示区欣庄菜市场东门"}))
    assert (by_name.method, by_name.grid.cell_code) == ("gazetteer", "110199011009022")
    nowhere = ref.locator.locate(report(place={"address": "火星路1号"}))
    assert (nowhere.method, nowhere.found) == ("none", False)


def test_department_resolution_prefers_the_street_then_district_then_fallback() -> None:
    directory = DepartmentDirectory(
        [
            Department(code="JD1", name="一街道", kind="street_office", street_code="S1"),
            Department(code="JD2", name="二街道", kind="street_office", street_code="S2"),
            Department(code="CGW", name="城管委", kind="city_management"),
        ]
    )
    assert directory.resolve("street_office", "S2")[0].code == "JD2"  # type: ignore[union-attr]
    assert directory.resolve("street_office", "S9")[0] is None
    dept, how = directory.resolve("heating", "S1", {"heating": "city_management"})
    assert dept is not None and dept.code == "CGW" and "heating → city_management" in how
    assert directory.resolve("heating", "S1", {"heating": "heating"})[0] is None  # a loop ends
