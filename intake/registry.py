"""Reference data intake reads at start-up: cameras, IoT devices, video algorithms, the Open311 catalogue."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from shared.contracts.common import CategoryRef, Crs, GridRef, Location

AlarmType = Literal["smoke", "gas", "water_level", "manhole_tilt"]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Placed(_Entry):
    """A registered thing at a fixed spot: its reports carry this place."""

    name: str = ""
    lon: float
    lat: float
    crs: Crs = Crs.WGS84
    cell_code: str | None = None
    street_code: str | None = None
    community_code: str | None = None
    address: str | None = None

    def location(self) -> Location:
        return Location(lon=self.lon, lat=self.lat, crs=self.crs)

    def grid(self) -> GridRef:
        return GridRef(street_code=self.street_code, community_code=self.community_code, cell_code=self.cell_code)


class Camera(_Placed):
    camera_id: str = Field(validation_alias=AliasChoices("camera_id", "id"))
    algorithms: frozenset[str] = frozenset()


class Device(_Placed):
    device_id: str = Field(validation_alias=AliasChoices("device_id", "id"))
    alarm_type: AlarmType = Field(validation_alias=AliasChoices("alarm_type", "type", "kind"))
    owner: str | None = Field(default=None, description="department that handles this device's alarms")


class Algorithm(_Entry):
    code: str
    name: str
    threshold: float = Field(ge=0, le=1)

    @property
    def category(self) -> CategoryRef:
        """The hint alerts carry; the router maps `video` codes to its taxonomy."""
        return CategoryRef(scheme="video", code=self.code, name=self.name)


class Open311Attribute(_Entry):
    code: str
    automated: str | None = Field(default=None, description="FixMyStreet: hidden_field | server_set")
    datatype: Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"] = "string"
    description: str = ""
    required: bool = False
    variable: bool = True
    order: int | None = None
    values: list[dict[str, str]] = Field(default_factory=list)


class Open311Service(_Entry):
    service_code: str
    service_name: str
    description: str | None = None
    group: str | None = None
    keywords: str | None = None
    type: Literal["realtime", "batch", "blackbox"] = "realtime"
    category: CategoryRef | None = None
    attributes: list[Open311Attribute] = Field(default_factory=list)

    @property
    def metadata(self) -> bool:
        return bool(self.attributes)


def _xml_children(element: Any) -> dict[str, Any]:
    return {child.tag: child for child in element if isinstance(child.tag, str)}


def _text(element: Any) -> str | None:
    return element.text.strip() if element is not None and element.text and element.text.strip() else None


def _xml_service(element: Any) -> dict[str, Any]:
    fields = {tag: _text(child) for tag, child in _xml_children(element).items() if tag != "groups"}
    groups = [_text(g) for g in element.iterfind("groups/group")]
    if groups and not fields.get("group"):  # FixMyStreet's multi-group extension
        fields["group"] = ", ".join(g for g in groups if g)
    return {k: v for k, v in fields.items() if v is not None and k != "metadata"}


def _xml_attribute(element: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {tag: _text(child) for tag, child in _xml_children(element).items() if tag != "values"}
    for flag in ("variable", "required"):
        if fields.get(flag) is not None:
            fields[flag] = fields[flag].lower() == "true"
    fields["values"] = [
        {"key": _text(v.find("key")) or "", "name": _text(v.find("name")) or ""}
        for v in element.iterfind("values/value")
    ]
    return {k: v for k, v in fields.items() if v is not None}


def load_services_xml(path: Path) -> list[dict[str, Any]]:
    """A GeoReport v2 `<services>` document, plus `<service_definition>` documents in `<path stem>.d/`.

    Lets a city reuse the service list (and attribute definitions) its current Open311 server publishes.
    """
    import defusedxml.ElementTree as SafeET

    services = [_xml_service(e) for e in SafeET.parse(path, forbid_dtd=True).getroot().iterfind("service")]
    by_code = {s.get("service_code"): s for s in services}
    definitions = path.with_suffix(".d")
    for file in sorted(definitions.glob("*.xml")) if definitions.is_dir() else []:
        root = SafeET.parse(file, forbid_dtd=True).getroot()
        service = by_code.get(_text(root.find("service_code")))
        if service is not None:
            service["attributes"] = [_xml_attribute(a) for a in root.iterfind("attributes/attribute")]
    return services


def _load(path: Path, key: str) -> list[Any]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    if raw is None:
        return []
    items = raw.get(key, []) if isinstance(raw, Mapping) else raw
    if not isinstance(items, list):
        raise ValueError(f"{path}: `{key}` must be a list")
    return items


class Registry:
    """Everything intake looks up by id; missing files give empty registries (the channel then refuses all)."""

    def __init__(
        self,
        cameras: Mapping[str, Camera],
        devices: Mapping[str, Device],
        algorithms: Mapping[str, Algorithm],
        services: Mapping[str, Open311Service],
    ) -> None:
        self.cameras = dict(cameras)
        self.devices = dict(devices)
        self.algorithms = dict(algorithms)
        self.services = dict(services)

    @classmethod
    def from_files(cls, cameras: Path, devices: Path, algorithms: Path, services: Path) -> Registry:
        cams = [Camera.model_validate(c) for c in _load(cameras, "cameras")]
        devs = [Device.model_validate(d) for d in _load(devices, "devices")]
        algos = [Algorithm.model_validate(a) for a in _load(algorithms, "algorithms")]
        raw_services = load_services_xml(services) if services.suffix == ".xml" else _load(services, "services")
        svcs = [Open311Service.model_validate(s) for s in raw_services]
        return cls(
            {c.camera_id: c for c in cams},
            {d.device_id: d for d in devs},
            {a.code: a for a in algos},
            {s.service_code: s for s in svcs},
        )
