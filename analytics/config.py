"""Analytics settings (env prefix `CITYLOOP_ANALYTICS_`) and the scoring rules read from `data/scoring.yaml`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent


class AnalyticsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYLOOP_ANALYTICS_", env_file=".env", extra="ignore")

    scoring_path: Path = PACKAGE_DIR / "data" / "scoring.yaml"
    max_rows: int = 5000
    """Largest number of groups one KPI answer may hold (a grid-cell breakdown of a year is well below)."""


class Weight(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    weight: float = Field(gt=0, le=100)
    invert: bool = False


class ScoringConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "Asia/Shanghai"
    filing_limit_minutes: int = Field(default=60, gt=0)
    closing_limit_hours: float = Field(default=24, gt=0)
    recurrence_days: int = Field(default=30, gt=0, le=366)
    composite: dict[str, Weight] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _composite_names_scores(self) -> Self:
        from analytics.scores import COMPOSABLE

        unknown = sorted(set(self.composite) - set(COMPOSABLE))
        if unknown:
            raise ValueError(f"composite names unknown rates {unknown}; use some of {sorted(COMPOSABLE)}")
        return self

    @classmethod
    def load(cls, path: Path) -> ScoringConfig:
        return cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


@lru_cache
def default_scoring() -> ScoringConfig:
    return ScoringConfig.load(AnalyticsSettings().scoring_path)
