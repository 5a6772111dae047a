"""The operator console: static pages at /console that work the platform through its own JSON APIs.

No build step: plain ES modules and CSS served as they are, so what is committed is what runs and a
reviewer reads the same files the browser does. The one library, Leaflet, is vendored from npm by
`deploy/console/vendor.sh` (pinned version and hash, with its licence). Besides the files, the console
serves only what the page cannot get from the APIs and what no API owns: the district's GeoJSON for the
map and the names of departments, categories, streets and communities for its pick lists.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.taxonomy import Taxonomy

STATIC = Path(__file__).parent / "static"
DEMO_DISTRICT = Path(__file__).resolve().parents[2] / "deploy" / "demo"
LAYERS = ("streets", "communities", "cells")


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYLOOP_CONSOLE_", extra="ignore")

    district_dir: Path = DEMO_DISTRICT
    """Where the district's departments.yaml and *.geojson live (the router reads the same files)."""


@lru_cache
def _reference(district_dir: Path) -> bytes:
    """Names for pick lists and labels, read once: departments, taxonomy classes, streets and communities."""
    raw = yaml.safe_load((district_dir / "departments.yaml").read_text(encoding="utf-8")) or {}
    departments = [
        {"code": d["code"], "name": d["name"], "kind": d.get("kind"), "street_code": d.get("street_code")}
        for d in raw.get("departments", [])
    ]
    categories = [
        {
            "id": c.id,
            "name": c.name,
            "major_name": c.major_name,
            "kind": c.kind,
            "department_kind": c.department_kind,
            "deadline_profile": c.deadline_profile,
        }
        for c in Taxonomy.load()
    ]

    def names(layer: str) -> dict[str, str]:
        data = json.loads((district_dir / f"{layer}.geojson").read_text(encoding="utf-8"))
        return {f["properties"]["code"]: f["properties"].get("name", "") for f in data["features"]}

    body = {
        "departments": departments,
        "categories": categories,
        "streets": names("streets"),
        "communities": names("communities"),
    }
    return json.dumps(body, ensure_ascii=False).encode()


def console_router(settings: ConsoleSettings | None = None) -> APIRouter:
    settings = settings or ConsoleSettings()
    router = APIRouter(include_in_schema=False)

    @router.get("/console")
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @router.get("/console/")
    async def slash() -> RedirectResponse:
        return RedirectResponse("/console")

    @router.get("/console/reference.json")
    async def reference() -> Response:
        return Response(
            _reference(settings.district_dir), media_type="application/json", headers={"Cache-Control": "max-age=300"}
        )

    @router.get("/console/geo/{layer}.geojson")
    async def geo(layer: Literal["streets", "communities", "cells"]) -> FileResponse:
        return FileResponse(
            settings.district_dir / f"{layer}.geojson",
            media_type="application/geo+json",
            headers={"Cache-Control": "max-age=300"},
        )

    return router


def mount_console(app: FastAPI, settings: ConsoleSettings | None = None) -> None:
    """Serve the console from `app`: it needs every API at one origin (`cityloop run all`, or behind a gateway)."""
    app.include_router(console_router(settings))
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")


__all__ = ["ConsoleSettings", "console_router", "mount_console"]
