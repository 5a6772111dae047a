"""The console's files and reference data are served by the platform itself, with nothing fetched from elsewhere."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.console import STATIC, mount_console


def client() -> TestClient:
    app = FastAPI()
    mount_console(app)
    return TestClient(app)


def test_every_asset_the_page_loads_is_served_locally() -> None:
    c = client()
    page = c.get("/console")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
    assets = re.findall(r'(?:src|href)="([^"#]+)"', page.text)
    assert assets and all(a.startswith("/console/static/") or a.startswith("data:") for a in assets), assets
    modules = [p.relative_to(STATIC).as_posix() for p in (STATIC / "js").glob("*.js")]
    for path in [a for a in assets if not a.startswith("data:")] + [f"/console/static/{m}" for m in modules]:
        assert c.get(path).status_code == 200, path
    for module in (STATIC / "js").glob("*.js"):
        text = module.read_text(encoding="utf-8")
        assert not re.search(r"https?://", text), f"{module.name} reaches outside the platform"
        for imported in re.findall(r'from "\./([^"]+)"', text):
            assert (STATIC / "js" / imported).exists(), f"{module.name} imports a missing {imported}"


def test_the_vendored_library_keeps_its_licence() -> None:
    c = client()
    assert "Volodymyr Agafonkin" in c.get("/console/static/vendor/leaflet/LICENSE").text
    assert c.get("/console/static/vendor/leaflet/VERSION").text.strip() == "leaflet@1.9.4"


def test_reference_names_departments_categories_and_streets() -> None:
    body = client().get("/console/reference.json").json()
    departments = {d["code"]: d for d in body["departments"]}
    categories = {c["id"]: c for c in body["categories"]}
    assert departments["CGZF"]["kind"] == categories["I0508"]["department_kind"] == "enforcement"
    assert body["streets"]["110199001"] == "隆盛街道"
    assert len(body["communities"]) > len(body["streets"])


def test_the_district_layers_are_served_and_nothing_else() -> None:
    c = client()
    cells = c.get("/console/geo/cells.geojson")
    assert cells.status_code == 200 and cells.json()["type"] == "FeatureCollection"
    assert c.get("/console/geo/users.geojson").status_code == 422
    assert c.get("/console/geo/..%2Fusers.yaml.geojson").status_code in (404, 422)
