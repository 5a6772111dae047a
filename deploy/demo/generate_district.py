"""Generate the synthetic demo district 演示区 (code 110199): streets, communities, grid cells and reference data.

The district is invented: its outline is a random smooth blob, streets and communities are Voronoi partitions
of it, cells are a 100 m grid clipped by community borders with slivers merged. Its sizes are modelled on a
central Beijing district (~42 km², 17 streets, ~200 communities, ~4,000 cells). Deterministic: the same
parameters give byte-identical files.

    .venv/bin/python deploy/demo/generate_district.py [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import random
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import shapely  # noqa: E402
import shapely.affinity  # noqa: E402
import shapely.ops  # noqa: E402
import shapely.prepared  # noqa: E402
import yaml  # noqa: E402
from shapely.geometry import MultiPoint, Point, Polygon, mapping  # noqa: E402
from shapely.geometry.base import BaseGeometry  # noqa: E402

from shared.auth import hash_password  # noqa: E402
from shared.geo import AreaIndex, LocalProjection, area_m2  # noqa: E402

OUT_DIR = Path(__file__).resolve().parent
DISTRICT_CODE = "110199"
"""Fictional, inside Beijing's 1101xx range but used by no real district."""
DEMO_PASSWORD = "demo"
GRID = 0.001
"""Snap-rounding grid (metres) for overlays, so that neighbouring pieces share exact edges."""


@dataclass(frozen=True)
class Params:
    seed: int = 110199
    lon0: float = 116.41
    lat0: float = 39.92
    area_km2: float = 41.9
    streets: int = 17
    communities: int = 205
    cell_m: float = 100.0
    sliver_m2: float = 4500.0
    """Clipped cell pieces smaller than this join a neighbour of the same community."""
    roads: int = 300
    landmarks: int = 300
    cameras: int = 120
    devices: int = 200
    users: bool = True
    """Hashing demo passwords (scrypt) is the slow part; tests of the geometry can skip it."""


# ------------------------------------------------------------------------------------------------- names

STREET_FIRST = "和安永兴长新福康宁泰华光明春清广德惠祥瑞嘉丰隆崇文锦翠金玉柳槐松桂兰芳朝晨"
STREET_SECOND = "安平兴华宁和康泰园苑桥坊门里庄河湖台山林溪泉源阳顺祥盛丰"
COMMUNITY_FIRST = "青翠松柏竹梅桃杏梨枫樱榆芙荷莲菊兰芝云霞虹月星晴雪静雅馨秀怡悦欣绿碧紫红白石铜银金"
COMMUNITY_SECOND = "园苑里坊院庭居楼阁轩湾岸畔坡岭峰泉溪池林村庄营桥门台亭苗圃"
PLACE_FIRST = "东西南北中前后大小新老方圆双三五百千万花草木水天星宝鸿鹏瑞福寿喜乐和美春秋"
PLACE_SECOND = "海河湖江溪泉井山岭峰林园苑坊街门桥楼阁堂亭台院宫寺庙塔城关市场村屯沟湾塘坝"
REAL_STREET_NAMES = (
    "安定门",
    "北新桥",
    "朝阳门",
    "崇文门",
    "东花市",
    "东华门",
    "东四",
    "东直门",
    "和平里",
    "建国门",
    "交道口",
    "景山",
    "龙潭",
    "体育馆",
    "天坛",
    "永定门",
    "前门",
)
"""Bases never used, so that the demo cannot be mistaken for the real district."""
ROAD_SUFFIXES = ("胡同",) * 6 + (
    "路",
    "大街",
    "街",
    "南路",
    "北路",
    "东路",
    "西路",
    "巷",
    "东街",
    "西街",
    "南街",
    "北街",
)
LANDMARKS: tuple[tuple[str, float, tuple[str, ...], Callable[[str], list[str]]], ...] = (
    # category, weight, name suffixes, aliases of a name's base
    ("residential", 0.22, ("小区", "家园", "公寓"), lambda b: []),
    ("school", 0.12, ("小学", "中学", "幼儿园"), lambda b: []),
    ("market", 0.08, ("菜市场",), lambda b: [f"{b}市场"]),
    ("supermarket", 0.06, ("超市",), lambda b: []),
    ("park", 0.06, ("公园", "绿地"), lambda b: []),
    ("metro_station", 0.07, ("站",), lambda b: [f"{b}地铁站", f"地铁{b}站"]),
    ("hospital", 0.07, ("医院", "社区卫生服务中心"), lambda b: [f"{b}卫生服务站"]),
    ("mall", 0.05, ("商场", "购物中心"), lambda b: []),
    ("police_station", 0.05, ("派出所",), lambda b: []),
    ("post_office", 0.03, ("邮局",), lambda b: [f"{b}邮政所"]),
    ("square", 0.04, ("广场",), lambda b: []),
    ("parking", 0.08, ("停车场",), lambda b: [f"{b}停车楼"]),
    ("public_toilet", 0.07, ("公厕",), lambda b: [f"{b}公共厕所"]),
)


class NamePool:
    """Unique two-character bases drawn from syllable lists; a name used anywhere is never issued again."""

    def __init__(self, rng: random.Random, taken: set[str]) -> None:
        self.rng, self.taken = rng, taken

    def base(self, first: str, second: str) -> str:
        for _ in range(10_000):
            b = self.rng.choice(first) + self.rng.choice(second)
            if b[0] != b[1] and b not in self.taken and not any(b in real for real in REAL_STREET_NAMES):
                self.taken.add(b)
                return b
        raise RuntimeError("name pool exhausted")

    def claim(self, *names: str) -> bool:
        if any(n in self.taken for n in names):
            return False
        self.taken.update(names)
        return True


# ------------------------------------------------------------------------------------------------- geometry


def district_outline(rng: random.Random, target_m2: float) -> Polygon:
    """An irregular blob about twice as tall as wide (like the old-city districts), scaled to `target_m2`."""
    harmonics = [(k, rng.uniform(0.02, 0.09) / k**0.5, rng.uniform(0, 2 * math.pi)) for k in range(2, 7)]
    points = []
    n = 120
    for i in range(n):
        t = 2 * math.pi * i / n
        r = 1 + sum(a * math.cos(k * t + phase) for k, a, phase in harmonics) + rng.uniform(-0.008, 0.008)
        points.append((0.5 * r * math.cos(t), r * math.sin(t)))
    blob = shapely.affinity.rotate(Polygon(points), rng.uniform(-10, 10), origin=(0, 0))
    blob = blob.simplify(0.004)  # straight stretches, like boundaries that follow roads
    k = math.sqrt(target_m2 / blob.area)
    return shapely.affinity.scale(blob, k, k, origin=(0, 0))  # type: ignore[no-any-return]


def random_points(
    region: BaseGeometry, n: int, rng: random.Random, weight: Callable[[float, float], float] = lambda x, y: 1.0
) -> list[Point]:
    minx, miny, maxx, maxy = region.bounds
    prepared = shapely.prepared.prep(region)
    out: list[Point] = []
    while len(out) < n:
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if prepared.contains(p) and rng.random() < weight(p.x, p.y):
            out.append(p)
    return out


def voronoi_partition(region: Polygon, seeds: Sequence[Point], lloyd: int) -> list[Polygon]:
    """Voronoi cells of `seeds` clipped to `region`, relaxed `lloyd` times; every piece a single polygon."""
    pieces: list[BaseGeometry] = []
    for step in range(lloyd + 1):
        cells = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=region.envelope.buffer(500), ordered=True)
        pieces = [shapely.intersection(c, region, grid_size=GRID) for c in cells.geoms]
        if step < lloyd:
            seeds = [p.centroid if region.contains(p.centroid) else p.representative_point() for p in pieces]
    return single_parts(pieces)


def single_parts(pieces: Sequence[BaseGeometry]) -> list[Polygon]:
    """Give every stray part of a multipart piece to the neighbour it shares most border with."""
    main: list[Polygon] = []
    strays: list[Polygon] = []
    for piece in pieces:
        parts = sorted(polygons_of(piece), key=lambda g: -g.area)
        main.append(parts[0])
        strays.extend(parts[1:])
    for stray in strays:
        best = max(range(len(main)), key=lambda i: (shared_length(stray, main[i]), -i))
        merged = shapely.union(main[best], stray, grid_size=GRID)
        if not isinstance(merged, Polygon):
            raise RuntimeError(f"stray part at {stray.representative_point()} touches no neighbour: change the seed")
        main[best] = merged
    return main


def polygons_of(geometry: BaseGeometry) -> list[Polygon]:
    if isinstance(geometry, Polygon):
        return [geometry] if geometry.area > 0 else []
    return [g for g in getattr(geometry, "geoms", []) if isinstance(g, Polygon) and g.area > 0]


def shared_length(a: BaseGeometry, b: BaseGeometry) -> float:
    return float(shapely.intersection(a.boundary, b.boundary).length)


def reading_order(geometries: Sequence[BaseGeometry], band_m: float) -> list[int]:
    """Indices north to south in bands of `band_m`, west to east within a band: how codes are numbered."""

    def key(i: int) -> tuple[float, float]:
        c = geometries[i].representative_point()
        return -math.floor(c.y / band_m), c.x

    return sorted(range(len(geometries)), key=key)


def allocate(total: int, weights: Sequence[float], minimum: int) -> list[int]:
    """Split `total` in proportion to `weights` (largest remainder), each share at least `minimum`."""
    free = total - minimum * len(weights)
    raw = [free * w / sum(weights) for w in weights]
    shares = [math.floor(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: (shares[i] - raw[i], i))[: free - sum(shares)]:
        shares[i] += 1
    return [s + minimum for s in shares]


def grid_cells(community: Polygon, p: Params) -> list[Polygon]:
    """The community cut by the cell grid; pieces under `sliver_m2` merged into their longest-border neighbour."""
    s = p.cell_m
    minx, miny, maxx, maxy = community.bounds
    xs = np.arange(math.floor(minx / s), math.ceil(maxx / s)) * s
    ys = np.arange(math.floor(miny / s), math.ceil(maxy / s)) * s
    x0, y0 = (a.ravel() for a in np.meshgrid(xs, ys, indexing="ij"))
    squares = shapely.box(x0, y0, x0 + s, y0 + s)
    shapely.prepare(community)
    inside = shapely.contains_properly(community, squares)
    cut = shapely.intersection(squares[~inside & shapely.intersects(community, squares)], community, grid_size=GRID)
    pieces = np.array([*squares[inside], *(part for clipped in cut for part in polygons_of(clipped) if part.area > 1)])
    while True:
        areas = shapely.area(pieces)
        for i in sorted(np.flatnonzero(areas < p.sliver_m2), key=lambda i: (areas[i], i)):
            near = np.flatnonzero(shapely.intersects(pieces, pieces[i]))
            near = near[near != i]
            lengths = shapely.length(shapely.intersection(shapely.boundary(pieces[near]), pieces[i].boundary))
            if len(near) == 0 or lengths.max() < 1:
                continue
            j = int(near[np.argmax(lengths)])  # the first of equals: deterministic
            union = shapely.union(pieces[j], pieces[i], grid_size=GRID)
            if isinstance(union, Polygon):
                pieces[j] = union
                pieces = np.delete(pieces, i)
                break
        else:
            return list(pieces)


def point_inside(geometry: BaseGeometry, rng: random.Random, margin_m: float) -> Point:
    """A random point at least `margin_m` inside (so that it is never on a border), else the inner point."""
    inner = geometry.buffer(-margin_m)
    if inner.is_empty:
        return geometry.representative_point()
    return random_points(inner, 1, rng)[0]


# ------------------------------------------------------------------------------------------------- output


@dataclass
class Unit:
    code: str
    name: str | None
    geometry: Polygon  # local metres
    props: dict[str, Any] = field(default_factory=dict)


def to_wgs(geometry: Any, proj: LocalProjection) -> Any:
    """Local metres → WGS-84 on the 1e-6° grid the files are written with."""
    return shapely.set_precision(proj.inverse(geometry), 1e-6)


def rounded(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, 6)
    if isinstance(obj, list | tuple):
        return [rounded(o) for o in obj]
    if isinstance(obj, dict):
        return {k: rounded(v) for k, v in obj.items()}
    return obj


def feature_collection(units: Iterable[Unit], proj: LocalProjection) -> dict[str, Any]:
    features = []
    units = list(units)
    for u, geometry in zip(units, to_wgs(np.array([u.geometry for u in units]), proj), strict=True):
        props = {
            "code": u.code,
            **({"name": u.name} if u.name else {}),
            **u.props,
            "area_m2": round(area_m2(geometry), 1),
        }
        features.append({"type": "Feature", "properties": props, "geometry": rounded(mapping(geometry))})
    return {"type": "FeatureCollection", "features": features}


def dump_json(path: Path, data: dict[str, Any], list_key: str | None = None) -> None:
    """Compact JSON; one list item per line so that a regeneration diffs readably."""

    def compact(o: Any) -> str:
        return json.dumps(o, ensure_ascii=False, separators=(",", ":"))

    if list_key is None:
        text = compact(data)
    else:
        head = compact({k: v for k, v in data.items() if k != list_key})[:-1]
        items = ",\n".join(compact(item) for item in data[list_key])
        text = f'{head}{"," if len(head) > 1 else ""}"{list_key}":[\n{items}\n]}}'
    path.write_text(text + "\n", encoding="utf-8")


def dump_yaml(path: Path, header: str, data: dict[str, Any]) -> None:
    # safe_dump is the pure-Python emitter: the same bytes with or without libyaml.
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120)
    path.write_text(
        "".join(f"# {line}".rstrip() + "\n" for line in header.strip().splitlines()) + body, encoding="utf-8"
    )


# ------------------------------------------------------------------------------------------------- the district


def generate(out: Path, p: Params = Params()) -> dict[str, Any]:
    rng = random.Random(p.seed)
    proj = LocalProjection(p.lon0, p.lat0)
    names = NamePool(rng, set())
    outline = district_outline(rng, p.area_km2 * 1e6)
    half_height = outline.bounds[3]

    # Streets: the old core (north-centre) is denser, so its streets come out smaller, as in real districts.
    def density(x: float, y: float) -> float:
        return 0.35 + 0.65 * math.exp(-((x / (0.6 * half_height)) ** 2 + ((y - 0.2 * half_height) / half_height) ** 2))

    street_shapes = voronoi_partition(outline, random_points(outline, p.streets, rng, density), lloyd=1)
    streets = []
    for n, i in enumerate(reading_order(street_shapes, 1500), start=1):
        code = f"{DISTRICT_CODE}{n:03d}"
        streets.append(
            Unit(
                code,
                f"{names.base(STREET_FIRST, STREET_SECOND)}街道",
                street_shapes[i],
                {"street_code": code, "district_code": DISTRICT_CODE},
            )
        )

    weights = [s.geometry.area * density(*s.geometry.centroid.coords[0]) for s in streets]
    communities = []
    for street, count in zip(streets, allocate(p.communities, weights, 3), strict=True):
        shapes = voronoi_partition(street.geometry, random_points(street.geometry, count, rng), lloyd=2)
        for n, i in enumerate(reading_order(shapes, 300), start=1):
            code = f"{street.code}{n:03d}"
            communities.append(
                Unit(
                    code,
                    f"{names.base(COMMUNITY_FIRST, COMMUNITY_SECOND)}社区",
                    shapes[i],
                    {"community_code": code, "street_code": street.code, "district_code": DISTRICT_CODE},
                )
            )

    cells = []
    for community in communities:
        pieces = grid_cells(community.geometry, p)
        for n, i in enumerate(reading_order(pieces, p.cell_m), start=1):
            cells.append(
                Unit(
                    f"{community.code}{n:03d}",
                    None,
                    pieces[i],
                    {
                        "community_code": community.code,
                        "street_code": community.props["street_code"],
                        "district_code": DISTRICT_CODE,
                    },
                )
            )

    out.mkdir(parents=True, exist_ok=True)
    collections = {
        "streets": feature_collection(streets, proj),
        "communities": feature_collection(communities, proj),
        "cells": feature_collection(cells, proj),
    }
    for name, fc in collections.items():
        dump_json(out / f"{name}.geojson", fc, "features")
    cell_index = AreaIndex.from_geojson(collections["cells"])

    outline_wgs = to_wgs(outline, proj)
    district = {
        "code": DISTRICT_CODE,
        "name": "演示区",
        "name_en": "Demo District",
        "synthetic": True,
        "crs": "WGS84",
        "seed": p.seed,
        "area_m2": round(area_m2(outline_wgs), 1),
        "center": rounded(list(proj.inverse(outline.centroid).coords[0])),
        "bbox": rounded(list(outline_wgs.bounds)),
        "counts": {"streets": len(streets), "communities": len(communities), "cells": len(cells)},
        "outline": rounded(mapping(outline_wgs)),
    }
    dump_json(out / "district.json", district)

    places = gazetteer(rng, names, proj, streets, communities, cells, cell_index, p)
    dump_json(out / "gazetteer.json", {"district_code": DISTRICT_CODE, "crs": "WGS84", "places": places}, "places")

    departments = department_list(streets, communities)
    dump_yaml(out / "departments.yaml", DEPARTMENTS_HEADER, {"departments": departments})
    roads = [pl for pl in places if pl["kind"] == "road"]
    dump_yaml(out / "cameras.yaml", CAMERAS_HEADER, {"cameras": cameras(rng, roads, cell_index, p)})
    dump_yaml(out / "devices.yaml", DEVICES_HEADER, {"devices": devices(rng, cells, proj, cell_index, p)})
    if p.users:
        dump_yaml(out / "users.yaml", USERS_HEADER, {"users": users(departments, streets, communities)})
    return district


def locate_record(lon: float, lat: float, index: AreaIndex) -> dict[str, Any]:
    """lon, lat and the grid codes of the cell holding the point (as the written cells say)."""
    cell = index.locate(lon, lat)
    if cell is None:
        raise RuntimeError(f"generated point {lon},{lat} lies in no cell")
    return {
        "lon": lon,
        "lat": lat,
        "cell_code": cell.key,
        "community_code": cell.properties["community_code"],
        "street_code": cell.properties["street_code"],
    }


def wgs_point(point: Point, proj: LocalProjection) -> tuple[float, float]:
    x, y = proj.inverse(point).coords[0]
    return round(x, 6), round(y, 6)


def gazetteer(
    rng: random.Random,
    names: NamePool,
    proj: LocalProjection,
    streets: list[Unit],
    communities: list[Unit],
    cells: list[Unit],
    index: AreaIndex,
    p: Params,
) -> list[dict[str, Any]]:
    places: list[dict[str, Any]] = []

    def add(name: str, kind: str, point: Point, aliases: list[str], category: str | None = None) -> None:
        record = {"name": name, "kind": kind, "aliases": aliases}
        if category:
            record["category"] = category
        places.append({**record, **locate_record(*wgs_point(point, proj), index)})

    for s in streets:
        assert s.name is not None
        base = s.name.removesuffix("街道")
        names.claim(f"{s.name}办事处")
        add(s.name, "street", s.geometry.representative_point(), [f"{s.name}办事处", f"{base}街道办"])
    for c in communities:
        assert c.name is not None
        add(c.name, "community", c.geometry.representative_point(), [f"{c.name}居委会", f"{c.name}居民委员会"])

    # Roads run along community borders: a point 6 m inside a community, off the middle of a border stretch.
    stretches = []
    for c in communities:
        ring = list(c.geometry.exterior.coords)
        inner = c.geometry.buffer(-6)
        for a, b in itertools.pairwise(ring):
            length = math.dist(a, b)
            if length > 150:
                mid = Point((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
                stretches.append(shapely.ops.nearest_points(inner, mid)[0] if not inner.is_empty else mid)
    for point in rng.sample(stretches, min(p.roads, len(stretches))):
        while True:
            name = names.base(PLACE_FIRST, PLACE_SECOND) + rng.choice(ROAD_SUFFIXES)
            if names.claim(name):
                break
        add(name, "road", point, [])

    categories = [c[0] for c in LANDMARKS]
    by_category = {c[0]: c for c in LANDMARKS}
    community_of = {c.code: c for c in communities}
    for _ in range(p.landmarks):
        category = rng.choices(categories, weights=[c[1] for c in LANDMARKS])[0]
        _, _, suffixes, aliases_of = by_category[category]
        cell = rng.choice(cells)
        suffix = rng.choice(suffixes)
        # Named after its community when that name is free (青松小学 in 青松社区), as is usual, else invented.
        home = community_of[cell.props["community_code"]].name or ""
        base = home.removesuffix("社区")
        if not names.claim(base + suffix, *aliases_of(base)):
            while True:
                base = names.base(PLACE_FIRST, PLACE_SECOND)
                if names.claim(base + suffix, *aliases_of(base)):
                    break
        add(base + suffix, "landmark", point_inside(cell.geometry, rng, 5), aliases_of(base), category)
    return places


DEPARTMENTS_HEADER = """
Departments of the demo district 演示区 (synthetic). `parent` is the escalation chain: every unit reports to
the district command centre CMD (区城市运行管理中心), which reports to the government office GOV.
Street offices (街道办事处) carry the `street_code` of their street. Generated by generate_district.py.
"""

LINE_DEPARTMENTS = (
    # code, name, kind, parent
    ("GOV", "演示区人民政府办公室", "government", None),
    ("CMD", "演示区城市运行管理中心", "command_centre", "GOV"),
    ("CGW", "演示区城市管理委员会", "city_management", "CMD"),
    ("CGZF", "演示区城市管理综合行政执法局", "enforcement", "CMD"),
    ("SZ", "演示区市政设施管理中心", "municipal_roads", "CGW"),
    ("HW", "演示区环境卫生服务中心", "sanitation", "CGW"),
    ("YL", "演示区园林绿化局", "landscaping", "CMD"),
    ("ZLS", "演示区自来水供水服务中心", "water_supply", "CMD"),
    ("PS", "演示区排水管理所", "drainage", "CMD"),
    ("RQ", "演示区燃气服务中心", "gas", "CMD"),
    ("GD", "演示区供电公司", "power", "CMD"),
    ("JJ", "演示区公安交通支队", "traffic_police", "CMD"),
    ("FG", "演示区住房和城市建设委员会", "housing", "CMD"),
    ("SCJG", "演示区市场监督管理局", "market_supervision", "CMD"),
    ("STHJ", "演示区生态环境局", "ecology_environment", "CMD"),
    ("YJ", "演示区应急管理局", "emergency", "CMD"),
)


def street_office_code(street_code: str) -> str:
    return f"JD{street_code}"


def stationed_code(street_code: str) -> str:
    return f"ZF{street_code}"


def grid_team_code(community_code: str) -> str:
    return f"WG{community_code}"


def department_list(streets: list[Unit], communities: list[Unit] | None = None) -> list[dict[str, Any]]:
    departments: list[dict[str, Any]] = [
        {"code": code, "name": name, "kind": kind, "parent": parent} for code, name, kind, parent in LINE_DEPARTMENTS
    ]
    departments += [
        {
            "code": street_office_code(s.code),
            "name": f"{s.name}办事处",
            "kind": "street_office",
            "parent": "CMD",
            "street_code": s.code,
        }
        for s in streets
    ]
    # Tiered handling: an enforcement squad stationed in every street (派驻, answering the street centre),
    # and the grid workers (网格员) of every community.
    departments += [
        {
            "code": stationed_code(s.code),
            "name": f"{s.name}城管执法队",
            "kind": "enforcement",
            "parent": "CGZF",
            "street_code": s.code,
            "level": "street",
        }
        for s in streets
    ]
    departments += [
        {
            "code": grid_team_code(c.code),
            "name": f"{c.name}网格工作站",
            "kind": "grid_worker",
            "parent": street_office_code(c.props["street_code"]),
            "street_code": c.props["street_code"],
            "community_code": c.code,
            "level": "community",
        }
        for c in communities or []
    ]
    return departments


CAMERAS_HEADER = """
Video cameras of the demo district (synthetic), each with the video-AI algorithms it runs. WGS-84.
"""
ALGORITHMS = (
    "street_vending",
    "exposed_garbage",
    "piled_materials",
    "illegal_parking",
    "road_occupation",
    "overflowing_bin",
)


def cameras(rng: random.Random, roads: list[dict[str, Any]], index: AreaIndex, p: Params) -> list[dict[str, Any]]:
    out = []
    for n, road in enumerate(rng.sample(roads, min(p.cameras, len(roads))), start=1):
        algorithms = sorted(rng.sample(ALGORITHMS, rng.randint(2, 4)), key=ALGORITHMS.index)
        record = locate_record(road["lon"], road["lat"], index)
        out.append(
            {
                "camera_id": f"CAM-{n:04d}",
                "name": f"{road['name']}{rng.randint(1, 120)}号监控点",
                "lon": record["lon"],
                "lat": record["lat"],
                "cell_code": record["cell_code"],
                "street_code": record["street_code"],
                "algorithms": algorithms,
            }
        )
    return out


DEVICES_HEADER = """
IoT sensors of the demo district (synthetic). `owner` is the department code that handles the device's alarms
(manhole covers belong to whoever owns the pipe beneath). WGS-84.
"""
DEVICE_KINDS = (
    ("smoke", "SMK", 0.3, ("YJ",)),
    ("gas", "GAS", 0.2, ("RQ",)),
    ("water_level", "WL", 0.2, ("PS",)),
    ("manhole_tilt", "MH", 0.3, ("SZ", "PS", "ZLS", "RQ", "GD")),
)


def devices(
    rng: random.Random, cells: list[Unit], proj: LocalProjection, index: AreaIndex, p: Params
) -> list[dict[str, Any]]:
    out = []
    counts = allocate(p.devices, [k[2] for k in DEVICE_KINDS], 0)
    for (kind, prefix, _, owners), count in zip(DEVICE_KINDS, counts, strict=True):
        for n in range(1, count + 1):
            cell = rng.choice(cells)
            record = locate_record(*wgs_point(point_inside(cell.geometry, rng, 3), proj), index)
            out.append(
                {
                    "device_id": f"{prefix}-{n:04d}",
                    "kind": kind,
                    "lon": record["lon"],
                    "lat": record["lat"],
                    "cell_code": record["cell_code"],
                    "street_code": record["street_code"],
                    "owner": rng.choice(owners),
                }
            )
    return out


USERS_HEADER = f"""
Demo users for POST /v1/auth/token (shared.auth.UserDirectory.from_yaml). Every password is "{DEMO_PASSWORD}".
Salts are derived from the username so that regeneration is byte-identical. For demos only: never deploy these.
"""


def demo_salt(username: str) -> bytes:
    return hashlib.sha256(f"cityloop-demo:{username}".encode()).digest()[:16]


def users(
    departments: list[dict[str, Any]], streets: list[Unit], communities: list[Unit] | None = None
) -> list[dict[str, Any]]:
    """Every role and unit; `centre-<street>` and `community-<community>` are the dispatchers of a street centre
    and of a community (level community), `dept-WG<community>` its grid workers."""
    people: list[tuple[str, str, str | None, str]] = [
        ("admin", "admin", None, "系统管理员"),
        ("dispatcher1", "dispatcher", None, "派遣员一"),
        ("supervisor1", "supervisor", None, "督办员一"),
        *[(f"inspector{i}", "inspector", None, f"监督员{'一二三'[i - 1]}") for i in (1, 2, 3)],
        ("integrator1", "integrator", None, "对接系统管理员"),
        *[(f"dept-{d['code']}", "department", d["code"], str(d["name"])) for d in departments],
        *[(f"street-{s.code}", "street", s.code, f"{s.name}值班员") for s in streets],
        *[(f"centre-{s.code}", "dispatcher", s.code, f"{s.name}分中心派遣员") for s in streets],
    ]
    out = [
        {
            "username": u,
            "password_hash": hash_password(DEMO_PASSWORD, demo_salt(u)),
            "role": role,
            "unit": unit,
            "name": name,
        }
        for u, role, unit, name in people
    ]
    out += [
        {
            "username": f"community-{c.code}",
            "password_hash": hash_password(DEMO_PASSWORD, demo_salt(f"community-{c.code}")),
            "role": "dispatcher",
            "unit": c.code,
            "name": f"{c.name}派遣员",
            "level": "community",
        }
        for c in communities or []
    ]
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder (default: deploy/demo)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    district = generate(args.out)
    print(
        f"{district['counts']} area {district['area_m2'] / 1e6:.2f} km² in {time.perf_counter() - started:.1f} s "
        f"→ {args.out}"
    )


if __name__ == "__main__":
    main()
