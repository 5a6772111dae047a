"""The demo district as the simulator sees it: places to report from, cameras, sensors, departments.

Read from the files `make run` seeds (`deploy/demo/`); a missing file leaves that part empty and the
simulator simply does not use it (no cameras: no video alerts).
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEMO_DIR = Path(__file__).resolve().parents[2] / "deploy" / "demo"
INSPECTORS = ("inspector1", "inspector2", "inspector3")
"""Demo users (deploy/demo/users.yaml) who patrol the district and verify handled cases on site."""
METRES_PER_DEGREE = 111_320.0

_LANDMARK_SPOTS = ("门口", "东门", "西侧", "南门外", "北侧路边", "停车场入口", "对面")
_COMMUNITY_SPOTS = ("{n}号楼下", "{n}号楼东侧", "{n}号院门口", "小区南门", "{n}号楼前绿地")


@dataclass(frozen=True)
class Spot:
    """A point somebody reports from, with the address a person would say."""

    lon: float
    lat: float
    address: str
    street_code: str | None
    cell_code: str | None = None


@dataclass(frozen=True)
class Place:
    name: str
    kind: str
    lon: float
    lat: float
    street_code: str | None
    cell_code: str | None = None


@dataclass
class District:
    places: list[Place] = field(default_factory=list)
    cameras: list[dict[str, Any]] = field(default_factory=list)
    devices: list[dict[str, Any]] = field(default_factory=list)
    department_kinds: dict[str, str] = field(default_factory=dict)
    """Department code → kind (sanitation, enforcement, street_office…)."""
    street_offices: dict[str, str] = field(default_factory=dict)
    """Street code → the street office's department code."""

    @classmethod
    def load(cls, directory: Path = DEMO_DIR) -> District:
        gazetteer = _read_json(directory / "gazetteer.json")
        places = [
            Place(p["name"], p["kind"], float(p["lon"]), float(p["lat"]), p.get("street_code"), p.get("cell_code"))
            for p in gazetteer.get("places", [])
            if p.get("kind") in ("road", "landmark", "community")
        ]
        departments = _read_yaml(directory / "departments.yaml").get("departments", [])
        return cls(
            places=places,
            cameras=_read_yaml(directory / "cameras.yaml").get("cameras", []),
            devices=_read_yaml(directory / "devices.yaml").get("devices", []),
            department_kinds={d["code"]: d.get("kind", "") for d in departments},
            street_offices={str(d["street_code"]): d["code"] for d in departments if d.get("kind") == "street_office"},
        )

    def departments_of_kind(self, kind: str) -> list[str]:
        return [code for code, k in self.department_kinds.items() if k == kind]

    @property
    def streets(self) -> list[str]:
        return sorted({p.street_code for p in self.places if p.street_code})

    def spot(self, rng: random.Random) -> Spot:
        """A random address: a house number on a road, a side of a landmark, a building of a community."""
        if not self.places:
            return Spot(116.41, 39.92, "演示区", None)
        place = rng.choice(self.places)
        if place.kind == "road":
            address = f"{place.name}{rng.randint(1, 160)}号"
        elif place.kind == "landmark":
            address = place.name + rng.choice(_LANDMARK_SPOTS)
        else:
            address = place.name + rng.choice(_COMMUNITY_SPOTS).format(n=rng.randint(1, 24))
        lon, lat = jitter(place.lon, place.lat, rng, 90.0)
        return Spot(lon, lat, address, place.street_code, place.cell_code)


def jitter(lon: float, lat: float, rng: random.Random, metres: float) -> tuple[float, float]:
    """A point up to `metres` away, uniformly over the disc."""
    r, angle = metres * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
    dlat = r * math.sin(angle) / METRES_PER_DEGREE
    dlon = r * math.cos(angle) / (METRES_PER_DEGREE * math.cos(math.radians(lat)))
    return round(lon + dlon, 6), round(lat + dlat, 6)


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}
