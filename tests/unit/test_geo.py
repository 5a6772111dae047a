"""Grid geometry kernel: CRS conversion, area lookup, gazetteer; checked against the real Dongcheng streets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import box, mapping, shape

from shared.contracts.common import Crs
from shared.geo import (
    AreaIndex,
    Gazetteer,
    GeoDataError,
    Place,
    PlaceKind,
    area_m2,
    distance_m,
    from_wgs84,
    in_china,
    to_wgs84,
)

REALDATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "realdata"
DONGCHENG = REALDATA / "beijing_dongcheng_jiedao.geojson"

china_lon = st.floats(min_value=73.6, max_value=134.7)
china_lat = st.floats(min_value=18.2, max_value=53.5)


# ------------------------------------------------------------------------------------------------ CRS


@given(china_lon, china_lat, st.sampled_from([Crs.GCJ02, Crs.BD09]))
def test_conversion_round_trip_inside_china_is_within_half_a_metre(lon: float, lat: float, crs: Crs) -> None:
    back = to_wgs84(*from_wgs84(lon, lat, crs), crs)
    assert distance_m(lon, lat, *back) < 0.5


@given(st.floats(min_value=-180, max_value=70), st.floats(min_value=-89, max_value=89), st.sampled_from(list(Crs)))
def test_points_outside_china_are_unchanged(lon: float, lat: float, crs: Crs) -> None:
    assert not in_china(lon, lat)
    assert to_wgs84(lon, lat, crs) == (lon, lat)
    assert from_wgs84(lon, lat, crs) == (lon, lat)


@given(st.floats(min_value=115.7, max_value=117.4), st.floats(min_value=39.4, max_value=41.1))
def test_gcj02_offset_in_beijing_is_hundreds_of_metres(lon: float, lat: float) -> None:
    assert 100 < distance_m(lon, lat, *from_wgs84(lon, lat, Crs.GCJ02)) < 700


def test_wgs84_is_never_shifted() -> None:
    assert to_wgs84(116.4, 39.9, Crs.WGS84) == (116.4, 39.9)


def test_baidu_and_amap_tiananmen_agree_after_conversion() -> None:
    # Each vendor's published default centre is Tiananmen: Baidu in BD-09, AMap in GCJ-02.
    baidu = to_wgs84(116.404, 39.915, Crs.BD09)
    amap = to_wgs84(116.397428, 39.90923, Crs.GCJ02)
    assert distance_m(*baidu, *amap) < 100
    assert distance_m(116.404, 39.915, 116.397428, 39.90923) > 800  # unconverted they are far apart


def test_haversine_distances() -> None:
    assert distance_m(0, 0, 0, 1) == pytest.approx(111_195, rel=1e-4)
    assert distance_m(116.4074, 39.9042, 121.4737, 31.2304) == pytest.approx(1_067_000, rel=0.005)  # Beijing–Shanghai
    assert distance_m(116.4, 39.9, 116.4, 39.9) == 0


# ------------------------------------------------------------------------------------------------ AreaIndex

DEG = 0.001  # ~85 m east-west, ~111 m north-south at Beijing


def square_collection(*squares: tuple[str, float, float]) -> dict[str, Any]:
    """Squares of side DEG with their south-west corner at (lon, lat)."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": code, "label": code.lower()},
                "geometry": mapping(box(lon, lat, lon + DEG, lat + DEG)),
            }
            for code, lon, lat in squares
        ],
    }


@pytest.fixture
def four_squares() -> AreaIndex:
    x, y = 116.4, 39.9
    return AreaIndex.from_geojson(
        square_collection(("D", x + DEG, y), ("C", x, y), ("B", x + DEG, y + DEG), ("A", x, y + DEG))
    )


def test_locate_finds_the_covering_area_with_its_properties(four_squares: AreaIndex) -> None:
    area = four_squares.locate(116.4005, 39.9005)
    assert area is not None and area.key == "C" and area.properties["label"] == "c"
    assert area.area_m2 == pytest.approx(85.4 * 111.0, rel=0.01)


def test_locate_on_a_shared_border_or_corner_picks_the_smallest_key(four_squares: AreaIndex) -> None:
    assert four_squares.locate(116.4 + DEG, 39.9005).key == "C"  # type: ignore[union-attr]  # C|D
    assert four_squares.locate(116.4005, 39.9 + DEG).key == "A"  # type: ignore[union-attr]  # A above C
    assert four_squares.locate(116.4 + DEG, 39.9 + DEG).key == "A"  # type: ignore[union-attr]  # all four


def test_locate_outside_every_area_is_none(four_squares: AreaIndex) -> None:
    assert four_squares.locate(116.5, 39.9) is None


def test_nearest_returns_the_closest_area_within_the_distance(four_squares: AreaIndex) -> None:
    east_of_d = (116.4 + 2 * DEG + 0.0005, 39.9005)  # ~43 m east of D
    assert four_squares.nearest(*east_of_d, max_distance_m=60).key == "D"  # type: ignore[union-attr]
    assert four_squares.nearest(*east_of_d, max_distance_m=30) is None
    assert four_squares.nearest(116.4005, 39.9005, max_distance_m=0).key == "C"  # type: ignore[union-attr]


def test_nearest_measures_in_metres_not_degrees() -> None:
    # 0.0006° east is ~51 m, 0.0005° north is ~56 m: in degrees the northern area would look nearer.
    index = AreaIndex.from_geojson(square_collection(("E", 116.4006, 39.9), ("N", 116.39, 39.9015)))
    assert index.nearest(116.4, 39.901, max_distance_m=200).key == "E"  # type: ignore[union-attr]


def test_area_index_reads_gcj02_and_stores_wgs84() -> None:
    wgs_square = box(116.40, 39.90, 116.41, 39.91)
    gcj_ring = [from_wgs84(x, y, Crs.GCJ02) for x, y in wgs_square.exterior.coords]
    data = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"code": "X"}, "geometry": {"type": "Polygon", "coordinates": [gcj_ring]}}
        ],
    }
    area = AreaIndex.from_geojson(data, crs=Crs.GCJ02).areas["X"]
    assert area.geometry.symmetric_difference(wgs_square).area < 1e-9
    assert AreaIndex.from_geojson(data, crs=Crs.GCJ02).locate(116.4005, 39.9005) is not None
    assert AreaIndex.from_geojson(data).locate(116.4005, 39.9005) is None  # read as WGS-84 it is ~500 m off


def test_self_intersecting_polygon_is_repaired_not_refused() -> None:
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[116.40, 39.90], [116.41, 39.91], [116.41, 39.90], [116.40, 39.91], [116.40, 39.90]]],
    }
    index = AreaIndex.from_geojson(
        {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {"code": "B"}, "geometry": bowtie}],
        }
    )
    assert index.areas["B"].geometry.is_valid
    assert index.locate(116.401, 39.905) is not None and index.locate(116.405, 39.909) is None


def feature(**overrides: Any) -> dict[str, Any]:
    good = {"type": "Feature", "properties": {"code": "A"}, "geometry": mapping(box(0, 0, 1, 1))}
    return {**good, **overrides}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"type": "Feature"}, "not a GeoJSON FeatureCollection"),
        ({"type": "FeatureCollection", "features": {}}, "'features' is not a list"),
        (
            {"type": "FeatureCollection", "features": [feature(), feature(type="Nope")]},
            "feature #1: not a GeoJSON Feature",
        ),
        (
            {"type": "FeatureCollection", "features": [feature(), feature(properties={"name": "x"})]},
            "feature #1: property 'code' is missing",
        ),
        (
            {"type": "FeatureCollection", "features": [feature(geometry={"type": "Point", "coordinates": [1, 2]})]},
            "feature #0: geometry must be a Polygon or MultiPolygon, got Point",
        ),
        (
            {"type": "FeatureCollection", "features": [feature(geometry=None)]},
            "feature #0: geometry must be a Polygon or MultiPolygon, got NoneType",
        ),
        (
            {
                "type": "FeatureCollection",
                "features": [feature(geometry={"type": "Polygon", "coordinates": [[[0, 0], [1]]]})],
            },
            "feature #0: bad coordinates",
        ),
        (
            {"type": "FeatureCollection", "features": [feature(geometry={"type": "Polygon", "coordinates": []})]},
            "feature #0: geometry is empty",
        ),
        ({"type": "FeatureCollection", "features": [feature(), feature()]}, "feature #1: duplicate code 'A'"),
    ],
)
def test_malformed_geojson_names_feature_and_reason(tmp_path: Path, data: dict[str, Any], reason: str) -> None:
    path = tmp_path / "cells.geojson"
    path.write_text(json.dumps(data))
    with pytest.raises(GeoDataError) as caught:
        AreaIndex.from_geojson(path)
    assert str(caught.value).startswith(str(path))
    assert reason in str(caught.value)


def test_unreadable_geojson_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.geojson"
    path.write_text('{"type": "FeatureCollection", ')
    with pytest.raises(GeoDataError, match=r"broken\.geojson: cannot read GeoJSON"):
        AreaIndex.from_geojson(path)
    with pytest.raises(GeoDataError, match=r"missing\.geojson: cannot read GeoJSON"):
        AreaIndex.from_geojson(tmp_path / "missing.geojson")


# ------------------------------------------------------------------------------------------------ real streets

needs_realdata = pytest.mark.skipif(not DONGCHENG.exists(), reason=f"real data not found at {DONGCHENG}")


@pytest.fixture(scope="module")
def dongcheng() -> AreaIndex:
    return AreaIndex.from_geojson(DONGCHENG, key="name", crs=Crs.GCJ02)


@needs_realdata
def test_real_dongcheng_streets_load_with_their_published_area(dongcheng: AreaIndex) -> None:
    assert len(dongcheng) == 17
    assert sum(a.area_m2 for a in dongcheng) / 1e6 == pytest.approx(41.86, rel=0.02)
    for area in dongcheng:
        assert area.area_m2 / 1e6 == pytest.approx(area.properties["approx_area_km2"], rel=0.02), area.key


@needs_realdata
def test_every_real_street_contains_its_own_inner_point_after_conversion(dongcheng: AreaIndex) -> None:
    raw = json.loads(DONGCHENG.read_text(encoding="utf-8"))
    for f in raw["features"]:
        inner = shape(f["geometry"]).representative_point()  # in GCJ-02, like the polygon
        located = dongcheng.locate(*to_wgs84(inner.x, inner.y, Crs.GCJ02))
        assert located is not None and located.key == f["properties"]["name"]


LANDMARKS_WGS84 = [
    ("Temple of Heaven, Hall of Prayer", 116.4067, 39.8822, "天坛街道"),
    ("Forbidden City", 116.3908, 39.9158, "东华门街道"),
    ("Wangfujing", 116.4047, 39.9127, "东华门街道"),
    ("Beijing Railway Station", 116.4272, 39.9028, "建国门街道"),
    ("Nanluoguxiang", 116.4030, 39.9370, "交道口街道"),
]


@needs_realdata
@pytest.mark.parametrize(("landmark", "lon", "lat", "street"), LANDMARKS_WGS84)
def test_famous_landmarks_fall_in_their_real_street(
    dongcheng: AreaIndex, landmark: str, lon: float, lat: float, street: str
) -> None:
    located = dongcheng.locate(lon, lat)
    assert located is not None and located.key == street, landmark


@needs_realdata
def test_ignoring_the_gcj02_offset_loses_the_forbidden_city() -> None:
    as_if_wgs84 = AreaIndex.from_geojson(DONGCHENG, key="name")
    assert as_if_wgs84.locate(116.3908, 39.9158) is None


def test_area_of_a_square_kilometre() -> None:
    lat_deg = 1000 / 111_034  # metres per degree of latitude at 40°N on WGS-84
    lon_deg = 1000 / 85_395  # metres per degree of longitude at 40°N
    assert area_m2(box(116.4, 40.0, 116.4 + lon_deg, 40.0 + lat_deg)) == pytest.approx(1e6, rel=2e-3)


# ------------------------------------------------------------------------------------------------ Gazetteer


def place(name: str, kind: PlaceKind, *aliases: str, community: str = "C1", street: str = "S1") -> Place:
    return Place(name, kind, 116.4, 39.9, aliases=aliases, community_code=community, street_code=street)


@pytest.fixture
def gazetteer() -> Gazetteer:
    return Gazetteer(
        [
            place("和平里街道", PlaceKind.STREET, "和平里街道办事处", community=""),
            place("东四街道", PlaceKind.STREET, street="S2", community=""),
            place("青年湖社区", PlaceKind.COMMUNITY),
            place("东四北社区", PlaceKind.COMMUNITY, community="C2", street="S2"),
            place("安定门外大街", PlaceKind.ROAD),
            place("安定门", PlaceKind.LANDMARK),
            place("地坛公园", PlaceKind.LANDMARK, "地坛"),
            place("便民菜市场", PlaceKind.LANDMARK, community="C1"),
            place("便民菜市场", PlaceKind.LANDMARK, community="C2", street="S2"),
        ]
    )


@pytest.mark.parametrize(
    ("address", "name", "kind"),
    [
        ("东城区和平里街道青年湖社区安定门外大街12号旁", "安定门外大街", PlaceKind.ROAD),
        ("和平里街道青年湖社区地坛公园北门有人摆摊", "地坛公园", PlaceKind.LANDMARK),
        ("青年湖社区3号楼下水道堵了", "青年湖社区", PlaceKind.COMMUNITY),
        ("和平里街道办事处门口", "和平里街道", PlaceKind.STREET),
        ("安定门城楼下", "安定门", PlaceKind.LANDMARK),
        ("地坛 东门", "地坛公园", PlaceKind.LANDMARK),
        ("和平里街道　青年湖社区", "青年湖社区", PlaceKind.COMMUNITY),  # full-width space
    ],
)
def test_lookup_finds_the_most_specific_place(gazetteer: Gazetteer, address: str, name: str, kind: PlaceKind) -> None:
    hit = gazetteer.lookup(address)
    assert hit is not None and (hit.place.name, hit.place.kind) == (name, kind)


def test_a_name_inside_a_longer_name_is_not_a_match(gazetteer: Gazetteer) -> None:
    hit = gazetteer.lookup("安定门外大街100号")
    assert hit is not None and hit.place.name == "安定门外大街" and hit.matched == "安定门外大街"


def test_a_shared_name_is_settled_by_the_community_also_named(gazetteer: Gazetteer) -> None:
    hit = gazetteer.lookup("东四街道东四北社区便民菜市场门口占道")
    assert hit is not None and hit.place.community_code == "C2"
    hit = gazetteer.lookup("青年湖社区便民菜市场")
    assert hit is not None and hit.place.community_code == "C1"


@given(st.text(alphabet="号楼门口附近旁东西南北123路", max_size=12), st.text(alphabet="号楼门口附近旁123", max_size=12))
def test_unknown_text_around_a_community_still_finds_it(prefix: str, suffix: str) -> None:
    gz = Gazetteer([place("青年湖社区", PlaceKind.COMMUNITY)])
    hit = gz.lookup(prefix + "青年湖社区" + suffix)
    assert hit is not None and hit.place.name == "青年湖社区" and hit.start == len(prefix)


def test_an_address_naming_no_known_place_finds_nothing(gazetteer: Gazetteer) -> None:
    assert gazetteer.lookup("火星路1号") is None
    assert gazetteer.lookup("") is None


def test_gazetteer_json_with_a_bad_place_names_it() -> None:
    with pytest.raises(GeoDataError, match=r"place #1: bad place"):
        Gazetteer.from_json(
            {
                "places": [
                    {"name": "a", "kind": "street", "lon": 1, "lat": 2},
                    {"name": "b", "kind": "planet", "lon": 1, "lat": 2},
                ]
            }
        )


def test_points_on_polygons_use_lon_lat_order() -> None:
    index = AreaIndex.from_geojson(square_collection(("A", 116.4, 39.9)))
    assert index.locate(116.4005, 39.9005) is not None
    assert index.locate(39.9005, 116.4005) is None
