"""Router settings (env prefix `CITYLOOP_ROUTER_`): where its reference data and rules come from."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
REPO_ROOT = PACKAGE_DIR.parent
DEMO_DIR = REPO_ROOT / "deploy" / "demo"


class RouterSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYLOOP_ROUTER_", env_file=".env", extra="ignore")

    district_dir: Path = DEMO_DIR
    """cells.geojson, gazetteer.json, departments.yaml and devices.yaml of the district served."""
    cells_crs: str = "WGS84"
    rules_path: Path = DATA_DIR / "rules.yaml"
    """Seeds the rule store on first start, and what `POST /v1/routing/rules/reload` reads."""
    hotline_mapping_path: Path = DATA_DIR / "hotline_mapping.yaml"
    channel_categories_path: Path = DATA_DIR / "channel_categories.yaml"
    corpus_path: Path = DATA_DIR / "corpus" / "train.tsv"
    written_corpus_path: Path | None = DATA_DIR / "corpus" / "written.tsv"
    """Hand-written sentences in the style of real citizens' messages, trained on with the generated corpus."""
    classifier_calibration_path: Path | None = DATA_DIR / "classifier_calibration.json"
    """In-scope words and the score → probability map learned from labelled real messages (tools/calibrate.py)."""
    model_cache_dir: Path | None = Path("var") / "cache" / "router"
    """The trained classifier is cached here by content hash; None trains at every start."""
    rules_poll_s: float = Field(default=5.0, gt=0)
    """How often a replica checks the store for a rule set another replica saved."""
    queue_page_size: int = Field(default=100, ge=1, le=1000)
