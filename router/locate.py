"""Where a report is: coordinates normalised to WGS-84 and looked up in the grid, else its address in the gazetteer."""

from __future__ import annotations

from dataclasses import dataclass

from shared.contracts.common import Crs, GridRef, Location
from shared.contracts.reports import ReportReceived
from shared.geo import Area, AreaIndex, Gazetteer, to_wgs84

EDGE_TOLERANCE_M = 30.0
"""A point this close outside the district still counts (GPS noise on a border street)."""


@dataclass(frozen=True)
class Located:
    location: Location | None
    grid: GridRef
    method: str
    detail: str

    @property
    def found(self) -> bool:
        return self.grid.cell_code is not None or self.grid.street_code is not None


class Locator:
    def __init__(self, cells: AreaIndex, gazetteer: Gazetteer, district_code: str | None = None) -> None:
        self.cells = cells
        self.gazetteer = gazetteer
        self.district_code = district_code

    def locate(self, report: ReportReceived) -> Located:
        point = report.place.point
        if point is not None:
            lon, lat = to_wgs84(point.lon, point.lat, Crs(point.crs))
            located = self.at(lon, lat)
            if located is not None:
                return located
            outside = Located(
                _wgs84(lon, lat), GridRef(), "point", f"({lon:.6f}, {lat:.6f}) lies outside the district's grid"
            )
            if not (report.place.address or report.grid_hint):
                return outside
        hint = report.grid_hint
        if hint is not None and hint.cell_code and hint.cell_code in self.cells.areas:
            cell = self.cells.areas[hint.cell_code]
            centre = cell.geometry.representative_point()
            return Located(
                _wgs84(centre.x, centre.y),
                self._grid(cell),
                "grid-hint",
                f"registered source stands in cell {cell.key}",
            )
        for method, text in (("gazetteer", report.place.address), ("gazetteer-text", report.text)):
            if text:
                hit = self.gazetteer.lookup(text)
                if hit is not None:
                    place = hit.place
                    area = self.cells.areas.get(place.cell_code or "") or self.cells.locate(place.lon, place.lat)
                    grid = (
                        self._grid(area)
                        if area
                        else GridRef(
                            district_code=self.district_code,
                            street_code=place.street_code,
                            community_code=place.community_code,
                        )
                    )
                    return Located(
                        _wgs84(place.lon, place.lat),
                        grid,
                        method,
                        f"{place.kind.value} {place.name!r} named as {hit.matched!r}",
                    )
        if point is not None:
            return outside
        return Located(None, GridRef(), "none", "no coordinates, and no known place in the address or text")

    def at(self, lon: float, lat: float) -> Located | None:
        """The cell holding a WGS-84 point, or the nearest one just across the district's edge."""
        cell = self.cells.locate(lon, lat)
        method = "point"
        if cell is None:
            cell = self.cells.nearest(lon, lat, EDGE_TOLERANCE_M)
            method = "point-nearest"
        if cell is None:
            return None
        return Located(_wgs84(lon, lat), self._grid(cell), method, f"cell {cell.key}")

    def _grid(self, cell: Area) -> GridRef:
        p = cell.properties
        return GridRef(
            district_code=p.get("district_code") or self.district_code,
            street_code=p.get("street_code"),
            community_code=p.get("community_code"),
            cell_code=cell.key,
        )


def _wgs84(lon: float, lat: float) -> Location:
    return Location(lon=round(lon, 7), lat=round(lat, 7), crs=Crs.WGS84)
