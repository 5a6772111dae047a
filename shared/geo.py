"""Grid geometry kernel: coordinate systems, area lookup (cells, communities, streets) and address gazetteer.

Everything stored or compared here is WGS-84 (lon, lat). Input in GCJ-02 (the offset all Chinese map apps
must use) or BD-09 (Baidu's further offset) is converted once, at the edge, with `to_wgs84`.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import prcoords
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

from shared.contracts.common import Crs

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), what haversine distances use."""

_WGS84_A = 6_378_137.0
_WGS84_E2 = 0.006_694_379_990_14

G = TypeVar("G", BaseGeometry, np.ndarray)

# --------------------------------------------------------------------------------------------------------------
# Coordinate reference systems


def in_china(lon: float, lat: float) -> bool:
    """The rough box inside which GCJ-02 is applied; outside it GCJ-02 equals WGS-84 by definition."""
    return bool(prcoords.sanity_in_china_p(prcoords.Coords(lat, lon)))


def to_wgs84(lon: float, lat: float, crs: Crs) -> tuple[float, float]:
    """Convert a point given in `crs` to WGS-84, with prcoords' iterative inverse (round trip within a few cm)."""
    if crs is Crs.WGS84 or not in_china(lon, lat):
        return lon, lat
    # The *_bored inverses skip the China check themselves, hence the guard above.
    if crs is Crs.GCJ02:
        out = prcoords.gcj_wgs_bored(prcoords.Coords(lat, lon))
    elif crs is Crs.BD09:
        out = prcoords.bd_wgs_bored(prcoords.Coords(lat, lon))
    else:  # pragma: no cover - Crs is closed
        raise ValueError(f"unknown CRS {crs!r}")
    return out.lon, out.lat


def from_wgs84(lon: float, lat: float, crs: Crs) -> tuple[float, float]:
    """Convert a WGS-84 point to `crs` (e.g. to hand coordinates to a Chinese map widget)."""
    if crs is Crs.WGS84 or not in_china(lon, lat):
        return lon, lat
    if crs is Crs.GCJ02:
        out = prcoords.wgs_gcj(prcoords.Coords(lat, lon), False)
    elif crs is Crs.BD09:
        out = prcoords.wgs_bd(prcoords.Coords(lat, lon), False)
    else:  # pragma: no cover - Crs is closed
        raise ValueError(f"unknown CRS {crs!r}")
    return out.lon, out.lat


def geometry_to_wgs84(geometry: BaseGeometry, crs: Crs) -> BaseGeometry:
    """Convert every vertex of a geometry to WGS-84."""
    if crs is Crs.WGS84:
        return geometry

    def convert(xy: np.ndarray) -> np.ndarray:
        return np.array([to_wgs84(float(x), float(y), crs) for x, y in xy], dtype=float).reshape(-1, 2)

    return shapely.transform(geometry, convert)


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle (haversine) distance in metres between two WGS-84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class LocalProjection:
    """Metres east/north of an origin on the WGS-84 ellipsoid; within a few km its error is far below 0.1 %."""

    lon0: float
    lat0: float

    @property
    def _scale(self) -> tuple[float, float]:
        s = math.sin(math.radians(self.lat0))
        w = 1 - _WGS84_E2 * s * s
        east = math.radians(_WGS84_A / math.sqrt(w) * math.cos(math.radians(self.lat0)))
        north = math.radians(_WGS84_A * (1 - _WGS84_E2) / w**1.5)
        return east, north

    def forward(self, geometry: G) -> G:
        """WGS-84 degrees → local metres (a geometry or an array of them)."""
        kx, ky = self._scale
        return shapely.transform(geometry, lambda xy: (xy - (self.lon0, self.lat0)) * (kx, ky))  # type: ignore[no-any-return]

    def inverse(self, geometry: G) -> G:
        """Local metres → WGS-84 degrees (a geometry or an array of them)."""
        kx, ky = self._scale
        return shapely.transform(geometry, lambda xy: xy / (kx, ky) + (self.lon0, self.lat0))  # type: ignore[no-any-return]


def area_m2(geometry: BaseGeometry) -> float:
    """Area in square metres of a WGS-84 geometry (local projection at its centroid)."""
    if geometry.is_empty:
        return 0.0
    c = geometry.centroid
    return float(LocalProjection(c.x, c.y).forward(geometry).area)


# --------------------------------------------------------------------------------------------------------------
# Areas


class GeoDataError(ValueError):
    """Malformed geographic input; the message names the file, the feature and the reason."""

    def __init__(self, source: str, reason: str, index: int | None = None, item: str = "feature") -> None:
        where = source if index is None else f"{source}: {item} #{index}"
        super().__init__(f"{where}: {reason}")
        self.source, self.index, self.reason = source, index, reason


@dataclass(frozen=True)
class Area:
    """One polygon of a partition (cell, community, street) in WGS-84, with its key and GeoJSON properties."""

    key: str
    properties: Mapping[str, Any]
    geometry: Polygon | MultiPolygon = field(repr=False)

    @property
    def area_m2(self) -> float:
        return area_m2(self.geometry)


class AreaIndex:
    """Polygons indexed by an STRtree: which area holds a point, which is nearest."""

    def __init__(self, areas: Iterable[Area]) -> None:
        self.areas: dict[str, Area] = {}
        for area in areas:
            if area.key in self.areas:
                raise ValueError(f"duplicate area key {area.key!r}")
            self.areas[area.key] = area
        self._list = list(self.areas.values())
        self._tree = shapely.STRtree([a.geometry for a in self._list])

    @classmethod
    def from_geojson(
        cls, source: str | Path | Mapping[str, Any], *, key: str = "code", crs: Crs = Crs.WGS84
    ) -> AreaIndex:
        """Load a FeatureCollection of (Multi)Polygons from a path or a parsed dict; `key` names the property
        holding each area's unique key; vertices in GCJ-02/BD-09 are converted to WGS-84."""
        if isinstance(source, Mapping):
            name, data = "<geojson>", source
        else:
            name = str(source)
            try:
                data = json.loads(Path(source).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise GeoDataError(name, f"cannot read GeoJSON: {exc}") from exc
        if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
            raise GeoDataError(name, "not a GeoJSON FeatureCollection")
        features = data.get("features")
        if not isinstance(features, list):
            raise GeoDataError(name, "'features' is not a list")
        areas = []
        seen: set[str] = set()
        for i, feature in enumerate(features):
            area = _area_from_feature(feature, key, crs, name, i)
            if area.key in seen:
                raise GeoDataError(name, f"duplicate {key} {area.key!r}", i)
            seen.add(area.key)
            areas.append(area)
        return cls(areas)

    def __len__(self) -> int:
        return len(self._list)

    def __iter__(self) -> Iterator[Area]:
        return iter(self._list)

    def locate(self, lon: float, lat: float) -> Area | None:
        """The area covering a WGS-84 point; on a shared border the smallest key wins, so answers are stable."""
        hits = self._tree.query(Point(lon, lat), predicate="intersects")
        if len(hits) == 0:
            return None
        return min((self._list[int(i)] for i in hits), key=lambda a: a.key)

    def nearest(self, lon: float, lat: float, max_distance_m: float) -> Area | None:
        """The area covering the point, else the closest one within `max_distance_m` metres (ties: smallest key)."""
        found = self.locate(lon, lat)
        if found is not None or max_distance_m <= 0:
            return found
        dlat = max_distance_m / 110_000
        dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
        box = shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat)
        projection = LocalProjection(lon, lat)
        origin = Point(0, 0)
        best: tuple[float, str] | None = None
        for i in self._tree.query(box):
            area = self._list[int(i)]
            d = projection.forward(area.geometry).distance(origin)
            if d <= max_distance_m and (best is None or (d, area.key) < best):
                best = (d, area.key)
        return None if best is None else self.areas[best[1]]


def _area_from_feature(feature: Any, key: str, crs: Crs, source: str, index: int) -> Area:
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        raise GeoDataError(source, "not a GeoJSON Feature", index)
    properties = feature.get("properties") or {}
    if not isinstance(properties, Mapping):
        raise GeoDataError(source, "'properties' is not an object", index)
    value = properties.get(key)
    if value is None or value == "":
        raise GeoDataError(source, f"property {key!r} is missing", index)
    raw = feature.get("geometry")
    if not isinstance(raw, Mapping) or raw.get("type") not in ("Polygon", "MultiPolygon"):
        kind = raw.get("type") if isinstance(raw, Mapping) else type(raw).__name__
        raise GeoDataError(source, f"geometry must be a Polygon or MultiPolygon, got {kind}", index)
    try:
        geometry = shape(raw)
    except (ValueError, TypeError, AttributeError, IndexError, shapely.errors.ShapelyError) as exc:
        raise GeoDataError(source, f"bad coordinates: {exc}", index) from exc
    if geometry.is_empty:
        raise GeoDataError(source, "geometry is empty", index)
    geometry = geometry_to_wgs84(geometry, crs)
    if not geometry.is_valid:
        # Self-touching rings are common in published boundary files; repairing beats refusing them.
        parts = _polygons(shapely.make_valid(geometry))
        geometry = parts[0] if len(parts) == 1 else MultiPolygon(parts)
        if geometry.is_empty:
            raise GeoDataError(source, "geometry is invalid and cannot be repaired", index)
    return Area(str(value), dict(properties), geometry)


def _polygons(geometry: BaseGeometry) -> list[Polygon]:
    if isinstance(geometry, Polygon):
        return [geometry]
    return [p for part in getattr(geometry, "geoms", ()) for p in _polygons(part)]


# --------------------------------------------------------------------------------------------------------------
# Gazetteer


class PlaceKind(StrEnum):
    STREET = "street"
    COMMUNITY = "community"
    ROAD = "road"
    LANDMARK = "landmark"


_SPECIFICITY = {PlaceKind.STREET: 0, PlaceKind.COMMUNITY: 1, PlaceKind.ROAD: 2, PlaceKind.LANDMARK: 3}


@dataclass(frozen=True)
class Place:
    """A named place with a WGS-84 point and where it lies in the grid."""

    name: str
    kind: PlaceKind
    lon: float
    lat: float
    aliases: tuple[str, ...] = ()
    category: str | None = None
    cell_code: str | None = None
    community_code: str | None = None
    street_code: str | None = None

    @property
    def specificity(self) -> int:
        return _SPECIFICITY[self.kind]


@dataclass(frozen=True)
class GazetteerHit:
    place: Place
    matched: str
    """The name or alias as written in the address."""
    start: int
    """Offset of the match in the normalised address."""


def normalise_address(text: str) -> str:
    """Full-width → half-width, no whitespace: how addresses and names are compared."""
    return "".join(unicodedata.normalize("NFKC", text).split())


class Gazetteer:
    """Finds the most specific known place named in a free Chinese address (hotline tickets carry only that)."""

    def __init__(self, places: Iterable[Place]) -> None:
        self.places = list(places)
        self._names: dict[str, list[Place]] = {}
        for place in self.places:
            for name in {place.name, *place.aliases}:
                norm = normalise_address(name)
                if norm:
                    self._names.setdefault(norm, []).append(place)
        # Longest first so that a name inside a longer one (安定门 in 安定门外大街) is seen as covered.
        self._ordered = sorted(self._names, key=lambda n: (-len(n), n))

    @classmethod
    def from_json(cls, source: str | Path | Mapping[str, Any]) -> Gazetteer:
        """Load `{"places": [{name, kind, lon, lat, aliases?, category?, cell_code?, ...}]}` (the demo format)."""
        name = "<gazetteer>" if isinstance(source, Mapping) else str(source)
        try:
            data = source if isinstance(source, Mapping) else json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise GeoDataError(name, f"cannot read gazetteer: {exc}") from exc
        places = []
        for i, raw in enumerate(data.get("places", []) if isinstance(data, Mapping) else []):
            try:
                places.append(
                    Place(
                        name=str(raw["name"]),
                        kind=PlaceKind(raw["kind"]),
                        lon=float(raw["lon"]),
                        lat=float(raw["lat"]),
                        aliases=tuple(raw.get("aliases") or ()),
                        category=raw.get("category"),
                        cell_code=raw.get("cell_code"),
                        community_code=raw.get("community_code"),
                        street_code=raw.get("street_code"),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise GeoDataError(name, f"bad place: {exc!r}", i, item="place") from exc
        return cls(places)

    def __len__(self) -> int:
        return len(self.places)

    def lookup(self, address_text: str) -> GazetteerHit | None:
        """The most specific place mentioned: landmark > road > community > street.

        Names found inside a longer match are ignored (longest match). Among places of the same kind, one lying
        in a street/community the address also names wins, then the longer name, then the earlier mention.
        """
        text = normalise_address(address_text)
        covered = [False] * len(text)
        matches: list[tuple[str, int]] = []
        for name in self._ordered:
            start = text.find(name)
            while start >= 0:
                end = start + len(name)
                if not all(covered[start:end]):
                    matches.append((name, start))
                    for j in range(start, end):
                        covered[j] = True
                start = text.find(name, start + 1)
        if not matches:
            return None
        containers = {
            code
            for name, _ in matches
            for place in self._names[name]
            if place.kind in (PlaceKind.STREET, PlaceKind.COMMUNITY)
            for code in (place.street_code, place.community_code)
            if code
        }

        def score(hit: GazetteerHit) -> tuple[int, int, int, int]:
            agree = sum(code in containers for code in (hit.place.street_code, hit.place.community_code) if code)
            return hit.place.specificity, agree, len(hit.matched), -hit.start

        hits = [GazetteerHit(place, name, start) for name, start in matches for place in self._names[name]]
        return max(hits, key=score)
