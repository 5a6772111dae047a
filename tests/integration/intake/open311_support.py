"""GeoReport v2 schemas and fixtures from ../shared/realdata, and a FixMyStreet-like XML reader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
import jsonschema_rs
import pytest

REALDATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "realdata"
SCHEMAS = REALDATA / "open311_schema_georeport_v2"
FIXMYSTREET = REALDATA / "open311_fixtures_fixmystreet"
MERTON = REALDATA / "open311_fixtures_merton"


def require_realdata() -> None:
    if not SCHEMAS.is_dir():
        pytest.skip(f"Open311 schemas not found at {SCHEMAS} (../shared/realdata is absent)")


def validator(name: str) -> Any:
    """A validator for one GeoReport v2 schema; its relative `$ref`s are read from the same folder."""
    require_realdata()

    def retrieve(uri: str) -> Any:
        return json.loads((SCHEMAS / uri.rsplit("/", 1)[-1]).read_text(encoding="utf-8"))

    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return jsonschema_rs.validator_for(
        schema, retriever=retrieve, base_uri=f"file:///georeport/{name}", validate_formats=True
    )


def xml_records(document: bytes | str, item: str) -> list[dict[str, str]]:
    """Each `<item>` child's elements as text, the way FixMyStreet's XML::Simple reading sees them."""
    root = SafeET.fromstring(document)
    return [{child.tag: (child.text or "").strip() for child in element} for element in root.iter(item)]
