"""The router's reference data, loaded once at start-up: taxonomy, classifier, grid, gazetteer, departments."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from router.categorize import Categorizer
from router.channels import ChannelCategories
from router.classify import TextClassifier, read_tsv
from router.config import RouterSettings
from router.locate import Locator
from router.rules import RuleContext
from shared.calendar import WorkCalendar, default_calendar
from shared.contracts.common import Crs
from shared.departments import DepartmentDirectory
from shared.geo import AreaIndex, Gazetteer
from shared.logging import get_logger
from shared.taxonomy import Taxonomy

log = get_logger(__name__)
_CACHE: dict[str, ReferenceData] = {}
_CACHE_LOCK = threading.Lock()


def training_rows(settings: RouterSettings) -> list[tuple[str, str]]:
    """The generated corpus, plus the hand-written sentences in real citizens' style when configured."""
    rows = read_tsv(settings.corpus_path)
    if settings.written_corpus_path is not None:
        rows += read_tsv(settings.written_corpus_path)
    return rows


@dataclass
class ReferenceData:
    taxonomy: Taxonomy
    categorizer: Categorizer
    locator: Locator
    departments: DepartmentDirectory
    device_owners: dict[str, str]
    calendar: WorkCalendar
    load_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def context(self) -> RuleContext:
        return RuleContext(self.taxonomy, self.departments)

    @classmethod
    def cached(cls, settings: RouterSettings) -> ReferenceData:
        """One load per process and settings: the data is read-only, and several runtimes (tests) share it."""
        key = settings.model_dump_json()
        with _CACHE_LOCK:
            if key not in _CACHE:
                _CACHE[key] = cls.load(settings)
            return _CACHE[key]

    @classmethod
    def load(cls, settings: RouterSettings | None = None) -> ReferenceData:
        settings = settings or RouterSettings()
        timings: dict[str, float] = {}

        def timed(name: str, started: float) -> None:
            timings[name] = round(time.perf_counter() - started, 3)

        t = time.perf_counter()
        taxonomy = Taxonomy.load()
        district = settings.district_dir
        departments = DepartmentDirectory.from_yaml(district / "departments.yaml")
        device_owners = _device_owners(district / "devices.yaml")
        channels = ChannelCategories.load(taxonomy, settings.hotline_mapping_path, settings.channel_categories_path)
        timed("tables", t)
        t = time.perf_counter()
        cells = AreaIndex.from_geojson(district / "cells.geojson", key="code", crs=Crs(settings.cells_crs))
        gazetteer = Gazetteer.from_json(district / "gazetteer.json")
        timed("grid", t)
        t = time.perf_counter()
        classifier = TextClassifier.build(
            taxonomy, training_rows(settings), settings.model_cache_dir, settings.classifier_calibration_path
        )
        timed("classifier", t)
        owner_kinds = {
            device: departments.by_code[owner].kind for device, owner in device_owners.items() if owner in departments
        }
        ref = cls(
            taxonomy=taxonomy,
            categorizer=Categorizer(taxonomy, classifier, channels, owner_kinds),
            locator=Locator(cells, gazetteer, _district_code(district)),
            departments=departments,
            device_owners=device_owners,
            calendar=default_calendar(),
            load_seconds=timings,
        )
        log.info(
            "router_reference_loaded",
            cells=len(cells),
            places=len(gazetteer),
            classes=len(taxonomy),
            departments=len(departments.by_code),
            seconds=timings,
        )
        return ref


def _device_owners(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(d["device_id"]): str(d["owner"]) for d in raw.get("devices", []) if d.get("owner")}


def _district_code(directory: Path) -> str | None:
    path = directory / "district.json"
    if not path.exists():
        return None
    code = json.loads(path.read_text(encoding="utf-8")).get("code")
    return str(code) if code else None
