"""Reference data: the demo registries, and real Open311 service lists used as intake's catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.adapters.open311 import service_document
from intake.config import IntakeSettings
from intake.registry import Registry
from tests.integration.intake.open311_support import FIXMYSTREET, MERTON, validator, xml_records

NOTHING = Path("/nonexistent.yaml")


def test_shipped_algorithms_and_open311_catalogue_load() -> None:
    config = IntakeSettings()
    registry = Registry.from_files(NOTHING, NOTHING, config.video_algorithms_file, config.open311_services_file)
    assert registry.cameras == {} and registry.devices == {}
    assert all(0 < a.threshold < 1 for a in registry.algorithms.values())
    assert registry.services["manhole_cover"].metadata and not registry.services["pothole"].metadata


def test_camera_and_device_files_accept_id_aliases(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("- {id: C1, lon: 116.4, lat: 39.9, algorithms: [a]}\n", encoding="utf-8")
    (tmp_path / "d.yaml").write_text("devices:\n  - {id: D1, kind: gas, lon: 116.4, lat: 39.9}\n", encoding="utf-8")
    registry = Registry.from_files(tmp_path / "c.yaml", tmp_path / "d.yaml", NOTHING, NOTHING)
    assert registry.cameras["C1"].algorithms == frozenset({"a"})
    assert registry.devices["D1"].alarm_type == "gas"


@pytest.mark.parametrize(
    "fixture",
    [FIXMYSTREET / f"populate-service-list_{i}_services.xml" for i in range(1, 5)] + [MERTON / "services.xml"],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_real_open311_service_lists_are_accepted_as_the_catalogue(fixture: Path) -> None:
    schema = validator("services.json")
    registry = Registry.from_files(NOTHING, NOTHING, NOTHING, fixture)
    documents = [service_document(s) for s in registry.services.values()]
    schema.validate(documents)
    real = xml_records(fixture.read_bytes(), "service")
    assert [d["service_code"] for d in documents] == [r["service_code"] for r in real]
    assert [d["service_name"] for d in documents] == [r["service_name"] for r in real]
    assert all(d["group"] for d in documents)  # <group> and FixMyStreet's <groups><group>…</groups> alike


def test_every_algorithm_a_demo_camera_runs_has_a_threshold() -> None:
    config = IntakeSettings()
    if not config.cameras_file.exists():
        pytest.skip("deploy/demo/cameras.yaml not generated")
    registry = Registry.from_files(config.cameras_file, config.devices_file, config.video_algorithms_file, NOTHING)
    assert registry.cameras and registry.devices
    assert set().union(*(c.algorithms for c in registry.cameras.values())) <= set(registry.algorithms)
