"""The committed demo district (deploy/demo) is consistent, and its generator is deterministic."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import shapely
import yaml
from shapely.geometry import Point, shape

from shared.auth import Role, UserDirectory
from shared.geo import AreaIndex, Gazetteer, area_m2

DEMO = Path(__file__).resolve().parents[2] / "deploy" / "demo"
TOLERANCE_DEG = 2e-6
"""Files are rounded to 6 decimals (~0.1 m), both child and parent, so containment holds to about 0.2 m."""


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_district", DEMO / "generate_district.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def streets() -> AreaIndex:
    return AreaIndex.from_geojson(DEMO / "streets.geojson")


@pytest.fixture(scope="module")
def communities() -> AreaIndex:
    return AreaIndex.from_geojson(DEMO / "communities.geojson")


@pytest.fixture(scope="module")
def cells() -> AreaIndex:
    return AreaIndex.from_geojson(DEMO / "cells.geojson")


@pytest.fixture(scope="module")
def places() -> list[dict[str, Any]]:
    return json.loads((DEMO / "gazetteer.json").read_text(encoding="utf-8"))["places"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def departments() -> list[dict[str, Any]]:
    return yaml.safe_load((DEMO / "departments.yaml").read_text(encoding="utf-8"))["departments"]  # type: ignore[no-any-return]


def yaml_list(name: str) -> list[dict[str, Any]]:
    return yaml.safe_load((DEMO / f"{name}.yaml").read_text(encoding="utf-8"))[name]  # type: ignore[no-any-return]


def test_district_has_the_size_of_a_central_beijing_district(
    streets: AreaIndex, communities: AreaIndex, cells: AreaIndex
) -> None:
    district = json.loads((DEMO / "district.json").read_text(encoding="utf-8"))
    assert (district["code"], district["name"], district["synthetic"]) == ("110199", "演示区", True)
    assert len(streets) == 17
    assert 180 <= len(communities) <= 250
    assert 3500 <= len(cells) <= 5000
    assert district["counts"] == {"streets": len(streets), "communities": len(communities), "cells": len(cells)}
    outline = shape(district["outline"])
    assert 40e6 <= area_m2(outline) <= 43e6
    for level in (streets, communities, cells):  # each level tiles the district: no gaps, no overlaps
        assert sum(a.area_m2 for a in level) == pytest.approx(area_m2(outline), rel=1e-3)
    assert outline.buffer(TOLERANCE_DEG).covers(shapely.union_all([s.geometry for s in streets]))
    assert outline.contains(Point(116.41, 39.92))


def test_cells_are_mostly_ten_thousand_square_metres(cells: AreaIndex) -> None:
    areas = np.array([a.area_m2 for a in cells])
    assert 9_500 < np.median(areas) < 10_500
    assert np.mean((areas > 7_000) & (areas < 13_000)) > 0.6
    assert areas.min() > 4_000  # slivers were merged
    assert areas.max() < 25_000
    for a in list(cells)[:200]:
        assert a.properties["area_m2"] == pytest.approx(a.area_m2, abs=0.1)


def test_codes_are_unique_well_formed_and_nested(streets: AreaIndex, communities: AreaIndex, cells: AreaIndex) -> None:
    for level, digits in ((streets, 9), (communities, 12), (cells, 15)):
        for area in level:
            p = area.properties
            assert re.fullmatch(rf"110199\d{{{digits - 6}}}", area.key), area.key
            assert p["district_code"] == "110199"
            assert p["street_code"] == area.key[:9] and p["street_code"] in streets.areas
            if digits > 9:
                assert p["community_code"] == area.key[:12] and p["community_code"] in communities.areas
    assert all(c.properties["name"].endswith("社区") for c in communities)
    assert all(s.properties["name"].endswith("街道") for s in streets)
    assert len({a.properties["name"] for a in (*streets, *communities)}) == len(streets) + len(communities)


def covered_by_parent(children: AreaIndex, parents: AreaIndex, code: str) -> np.ndarray:
    kids = list(children)
    outer = np.array([parents.areas[k.properties[code]].geometry.buffer(TOLERANCE_DEG) for k in kids])
    return shapely.covers(outer, np.array([k.geometry for k in kids]))  # type: ignore[no-any-return]


def test_every_cell_lies_in_its_community_and_every_community_in_its_street(
    streets: AreaIndex, communities: AreaIndex, cells: AreaIndex
) -> None:
    assert covered_by_parent(cells, communities, "community_code").all()
    assert covered_by_parent(communities, streets, "street_code").all()


def test_gazetteer_points_fall_in_the_cell_they_claim(places: list[dict[str, Any]], cells: AreaIndex) -> None:
    kinds = Counter(p["kind"] for p in places)
    assert kinds["street"] == 17 and 180 <= kinds["community"] <= 250
    assert 250 <= kinds["road"] <= 350 and 250 <= kinds["landmark"] <= 350
    assert {p["category"] for p in places if p["kind"] == "landmark"} >= {"school", "market", "park", "metro_station"}
    for p in places:
        cell = cells.areas[p["cell_code"]]
        assert cell.geometry.covers(Point(p["lon"], p["lat"])), p["name"]
        assert (p["community_code"], p["street_code"]) == (
            cell.properties["community_code"],
            cell.properties["street_code"],
        )


def test_gazetteer_community_names_match_the_polygons(places: list[dict[str, Any]], communities: AreaIndex) -> None:
    for p in places:
        if p["kind"] == "community":
            assert communities.areas[p["community_code"]].properties["name"] == p["name"]


def test_every_named_place_is_found_in_an_address_naming_it(places: list[dict[str, Any]]) -> None:
    gazetteer = Gazetteer.from_json(DEMO / "gazetteer.json")
    street_names = {p["street_code"]: p["name"] for p in places if p["kind"] == "street"}
    community_names = {p["community_code"]: p["name"] for p in places if p["kind"] == "community"}
    for p in places:
        street, community = street_names[p["street_code"]], community_names[p["community_code"]]
        address = {"street": f"演示区{street}", "community": f"{street}{community}"}.get(
            p["kind"], f"演示区{street}{community}{p['name']}东侧20米"
        )
        hit = gazetteer.lookup(address)
        assert hit is not None and hit.place.name == p["name"], address
        assert hit.place.cell_code == p["cell_code"]


def test_departments_cover_the_trades_and_escalate_to_the_government(
    departments: list[dict[str, Any]], streets: AreaIndex
) -> None:
    by_code = {d["code"]: d for d in departments}
    assert len(by_code) == len(departments)
    assert by_code["CMD"]["name"].endswith("城市运行管理中心")
    kinds = {d["kind"] for d in departments}
    assert kinds >= {
        "enforcement",
        "municipal_roads",
        "landscaping",
        "sanitation",
        "water_supply",
        "drainage",
        "gas",
        "power",
        "traffic_police",
        "housing",
        "market_supervision",
        "ecology_environment",
        "emergency",
    }
    for d in departments:
        chain, code = [], d["code"]
        while code is not None:
            assert code not in chain, f"escalation cycle through {code}"
            chain.append(code)
            code = by_code[code]["parent"]
        assert chain[-1] == "GOV" and ("CMD" in chain or d["code"] == "GOV"), chain
    offices = {d["street_code"]: d for d in departments if d["kind"] == "street_office"}
    assert set(offices) == set(streets.areas)
    for code, office in offices.items():
        assert office["name"] == f"{streets.areas[code].properties['name']}办事处"


def test_cameras_and_devices_are_placed_in_their_cells(departments: list[dict[str, Any]], cells: AreaIndex) -> None:
    cameras, devices = yaml_list("cameras"), yaml_list("devices")
    assert 100 <= len(cameras) <= 140 and 180 <= len(devices) <= 220
    algorithms = {
        "street_vending",
        "exposed_garbage",
        "piled_materials",
        "illegal_parking",
        "road_occupation",
        "overflowing_bin",
    }
    assert len({c["camera_id"] for c in cameras}) == len(cameras)
    assert len({d["device_id"] for d in devices}) == len(devices)
    assert all(c["algorithms"] and set(c["algorithms"]) <= algorithms for c in cameras)
    assert {d["kind"] for d in devices} == {"smoke", "gas", "water_level", "manhole_tilt"}
    assert {d["owner"] for d in devices} <= {d["code"] for d in departments}
    for item in (*cameras, *devices):
        cell = cells.areas[item["cell_code"]]
        assert cell.geometry.covers(Point(item["lon"], item["lat"]))
        assert item["street_code"] == cell.properties["street_code"]


def test_demo_users_cover_every_role_and_unit(departments: list[dict[str, Any]], streets: AreaIndex) -> None:
    directory = UserDirectory.from_yaml(DEMO / "users.yaml")
    users = directory.users
    assert {"admin", "dispatcher1", "supervisor1", "inspector1", "inspector2", "inspector3"} <= set(users)
    for d in departments:
        user = users[f"dept-{d['code']}"]
        assert (user.role, user.unit) == (Role.DEPARTMENT, d["code"])
    for code in streets.areas:
        assert (users[f"street-{code}"].role, users[f"street-{code}"].unit) == (Role.STREET, code)
    generator = load_generator()
    for name, user in users.items():  # fixed salts are what make regeneration byte-identical
        assert user.password_hash.split("$")[1] == generator.demo_salt(name).hex()
    assert directory.authenticate("admin", "demo") is not None
    assert directory.authenticate("dept-CMD", "demo") is not None
    assert directory.authenticate("admin", "wrong") is None


def test_generator_output_is_byte_identical_across_runs(tmp_path: Path) -> None:
    generator = load_generator()
    small = generator.Params(
        area_km2=3.0, streets=3, communities=12, roads=20, landmarks=20, cameras=10, devices=10, users=False
    )

    def digest(folder: Path) -> dict[str, str]:
        return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(folder.iterdir())}

    generator.generate(tmp_path / "a", small)
    generator.generate(tmp_path / "b", small)
    first = digest(tmp_path / "a")
    assert first == digest(tmp_path / "b")
    assert {
        "district.json",
        "streets.geojson",
        "communities.geojson",
        "cells.geojson",
        "gazetteer.json",
        "departments.yaml",
        "cameras.yaml",
        "devices.yaml",
    } <= set(first)
    assert len(AreaIndex.from_geojson(tmp_path / "a" / "streets.geojson")) == 3
