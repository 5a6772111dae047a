"""Open311 GeoReport v2: form-encoded service requests in, the spec's JSON and XML documents out."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from xml.etree.ElementTree import Element, SubElement, tostring

from pydantic import Field, HttpUrl, StringConstraints

from intake.adapters.common import read
from intake.pii import mask_name, mask_phone
from intake.registry import Open311Attribute, Open311Service
from intake.schemas import ChannelModel, Lat, Lon, Short, Text
from shared.calendar import SHANGHAI
from shared.contracts.common import CategoryRef, Channel, Crs, Location, Photo, Place, Reporter
from shared.contracts.reports import ReportReceived
from shared.errors import Invalid

_ATTRIBUTE = re.compile(r"^attribute\[(?P<code>[^\]]{1,64})\]$")
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]


class Open311Request(ChannelModel):
    """POST /requests parameters (GeoReport v2), as FixMyStreet and other clients send them."""

    service_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    jurisdiction_id: Name | None = None
    lat: Lat | None = None
    long: Lon | None = None
    address_string: Short | None = None
    address_id: Name | None = None
    email: Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    device_id: Name | None = None
    account_id: Name | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    description: Text = ""
    media_url: HttpUrl | None = None
    attributes: dict[str, Annotated[str, StringConstraints(max_length=1000)]] = Field(default_factory=dict)


def form_to_request(items: Iterable[tuple[str, str]]) -> Open311Request:
    """Read form fields; `attribute[code]` fields become `attributes`, empty values count as absent."""
    fields: dict[str, Any] = {}
    attributes: dict[str, str] = {}
    for name, value in items:
        if (match := _ATTRIBUTE.match(name)) is not None:
            attributes[match["code"]] = value
        elif value != "" and name != "api_key":
            fields.setdefault(name, value)
    fields["attributes"] = attributes
    request = read(Open311Request, fields)
    if (request.lat is None) != (request.long is None):
        raise Invalid("lat and long must be sent together", field="long" if request.long is None else "lat")
    if request.lat is None and not request.address_string and not request.address_id:
        raise Invalid("a location is required: lat and long, address_string or address_id", field="lat")
    return request


def check_service_area(
    request: Open311Request, bbox: tuple[float, float, float, float] | None, margin_m: float
) -> None:
    """Refuse a point far outside the district box (a swapped lat/long, another city), naming the axis."""
    if bbox is None or request.lat is None or request.long is None:
        return
    west, south, east, north = bbox
    dlat = margin_m / 111_320.0
    dlon = margin_m / (111_320.0 * max(math.cos(math.radians((south + north) / 2)), 0.01))
    where = f"({request.lat}, {request.long}) is more than {margin_m / 1000:g} km outside the service area"
    if not south - dlat <= request.lat <= north + dlat:
        raise Invalid(f"lat {where} (lat {south}..{north})", field="lat")
    if not west - dlon <= request.long <= east + dlon:
        raise Invalid(f"long {where} (long {west}..{east})", field="long")


def read_service_area(path: Path | None) -> tuple[float, float, float, float] | None:
    """`bbox` [west, south, east, north] of a district.json, or None when none is configured."""
    if path is None:
        return None
    west, south, east, north = (float(v) for v in json.loads(path.read_text(encoding="utf-8"))["bbox"])
    return west, south, east, north


def check_attributes(request: Open311Request, service: Open311Service) -> None:
    for attribute in service.attributes:
        if not attribute.variable:  # set by the server, never asked of the citizen
            continue
        value = request.attributes.get(attribute.code)
        field = f"attribute[{attribute.code}]"
        if not value:
            if attribute.required:
                raise Invalid(f"{attribute.code} is required for service {service.service_code}", field=field)
            continue
        keys = {v["key"] for v in attribute.values}
        chosen = value.split(",") if attribute.datatype == "multivaluelist" else [value]
        if keys and not set(chosen) <= keys:
            raise Invalid(f"{value!r} is not one of {sorted(keys)}", field=field)


def request_to_report(
    request: Open311Request, service: Open311Service, *, client: str, report_id: str, received_at: datetime
) -> ReportReceived:
    name = " ".join(p for p in (request.first_name, request.last_name) if p) or None
    point = None
    if request.lat is not None and request.long is not None:
        point = Location(lon=request.long, lat=request.lat, crs=Crs.WGS84)
    attributes: dict[str, Any] = {"service_code": service.service_code, "client": client}
    for key in ("address_id", "account_id", "device_id", "jurisdiction_id"):
        if (value := getattr(request, key)) is not None:
            attributes[key] = value
    if request.attributes:
        attributes["open311_attributes"] = dict(request.attributes)
    return ReportReceived(
        report_id=report_id,
        channel=Channel.OPEN311,
        external_id=None,
        reporter=Reporter(
            kind="citizen", id=request.account_id, name=mask_name(name), phone_masked=mask_phone(request.phone)
        ),
        text=request.description,
        category_hint=service.category
        or CategoryRef(scheme="open311", code=service.service_code, name=service.service_name),
        place=Place(point=point, address=request.address_string),
        photos=[Photo(uri=str(request.media_url))] if request.media_url else [],
        received_at=received_at,
        attributes=attributes,
    )


def request_contact(request: Open311Request) -> dict[str, str]:
    name = " ".join(p for p in (request.first_name, request.last_name) if p) or None
    return {k: v for k, v in (("phone", request.phone), ("email", request.email), ("name", name)) if v}


# --- documents out ---------------------------------------------------------------------------------------------


def service_document(service: Open311Service) -> dict[str, Any]:
    return {
        "service_code": service.service_code,
        "service_name": service.service_name,
        "description": service.description,
        "metadata": service.metadata,
        "type": service.type,
        "keywords": service.keywords,
        "group": service.group,
    }


def definition_document(service: Open311Service) -> dict[str, Any]:
    return {
        "service_code": service.service_code,
        "attributes": [_attribute_document(a) for a in service.attributes],
    }


def _attribute_document(attribute: Open311Attribute) -> dict[str, Any]:
    document: dict[str, Any] = {
        "variable": attribute.variable,
        "code": attribute.code,
        "datatype": attribute.datatype,
        "required": attribute.required,
        "datatype_description": None,
        "order": attribute.order,
        "description": attribute.description or None,
        "values": [{"key": v["key"], "name": v["name"]} for v in attribute.values],
    }
    if attribute.automated:
        document["automated"] = attribute.automated
    return document


def request_document(
    body: Mapping[str, Any],
    *,
    service_name: str | None,
    status: str,
    status_notes: str | None,
    agency: str | None,
    updated_at: datetime | None,
    media_base: str | None = None,
) -> dict[str, Any]:
    """One service request as GeoReport v2 describes it, built from the stored ReportReceived.

    A photo uploaded as the `media` part is stored here (`/v1/media/…`): `media_base` makes its URL absolute.
    """
    report = ReportReceived.model_validate(body)
    point = report.place.point
    first = report.photos[0].uri if report.photos else ""
    media = first if first.startswith(("http:", "https:")) else None
    if media is None and first.startswith("/") and media_base:
        media = media_base.rstrip("/") + first
    return {
        "service_request_id": report.report_id,
        "status": status,
        "status_notes": status_notes,
        "service_name": service_name,
        "service_code": str(report.attributes.get("service_code") or (report.category_hint or _NO_CODE).code),
        "description": report.text or None,
        "agency_responsible": agency,
        "service_notice": None,
        "requested_datetime": report.received_at.astimezone(SHANGHAI).isoformat(),
        "updated_datetime": (updated_at or report.received_at).astimezone(SHANGHAI).isoformat(),
        "expected_datetime": None,
        "address": report.place.address,
        "address_id": report.attributes.get("address_id"),
        "zipcode": None,
        "lat": point.lat if point else None,
        "long": point.lon if point else None,
        "media_url": media,
    }


_NO_CODE = CategoryRef(scheme="open311", code="unknown")
_SINGULAR = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}


def to_xml(root: str, items: Iterable[Mapping[str, Any]] | Mapping[str, Any]) -> bytes:
    """GeoReport v2 XML: `<services><service>…</service></services>`; None becomes an empty element."""
    element = Element(root)
    if isinstance(items, Mapping):
        _fill(element, items)
    else:
        for item in items:
            _fill(SubElement(element, _SINGULAR.get(root, "item")), item)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + tostring(element, encoding="unicode").encode()


def _fill(element: Element, item: Mapping[str, Any]) -> None:
    for key, value in item.items():
        child = SubElement(element, key)
        if isinstance(value, list):
            for entry in value:
                grandchild = SubElement(child, _SINGULAR.get(key, "item"))
                if isinstance(entry, Mapping):
                    _fill(grandchild, entry)
                else:
                    grandchild.text = str(entry)
        elif isinstance(value, bool):
            child.text = "true" if value else "false"
        elif value is not None:
            child.text = str(value)


def discovery_document(url: str, changeset: str, contact: str) -> dict[str, Any]:
    """GeoReport v2 service discovery: where the endpoint is, which spec and formats it speaks."""
    return {
        "changeset": changeset,
        "contact": contact,
        "key_service": "API keys are issued by the platform operator (CITYLOOP_API_KEYS)",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": url,
                "changeset": changeset,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


def decode_form(body: bytes, *, max_fields: int = 200) -> list[tuple[str, str]]:
    """An urlencoded body as UTF-8, whether its Chinese text is percent-encoded or sent raw (as `curl -d`
    sends it); Starlette's parser reads raw bytes as Latin-1 and stores mojibake."""
    from urllib.parse import parse_qsl

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid(f"the form is not UTF-8 (byte {exc.start})", field="body") from exc
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=max_fields, encoding="utf-8", errors="strict")
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(f"unreadable form: {exc}", field="body") from exc


def error_document(status: int, description: str, field: str | None) -> list[dict[str, Any]]:
    error: dict[str, Any] = {"code": status, "description": description}
    if field:
        error["field"] = field
    return [error]
