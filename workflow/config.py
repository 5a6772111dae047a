"""Workflow settings (env prefix `CITYLOOP_WORKFLOW_`) and the deadline rules read from `data/profiles.yaml`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent


class WorkflowSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYLOOP_WORKFLOW_", env_file=".env", extra="ignore")

    profiles_path: Path = PACKAGE_DIR / "data" / "profiles.yaml"
    departments_path: Path = REPO_ROOT / "deploy" / "demo" / "departments.yaml"
    calendar_overrides_path: Path | None = None
    """Operator table of holidays/make-up days (YAML or CSV, see shared.calendar.load_overrides)."""
    case_no_prefix: str = Field(default="DC", pattern=r"^[A-Z]{1,4}$")
    metrics_interval_s: float = 15.0


class Basis(StrEnum):
    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"
    WALL = "wall"


class Limit(BaseModel):
    """How long a step may take: exactly one of working days, working hours or wall-clock hours."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    working_days: int | None = Field(default=None, ge=1, le=366)
    working_hours: float | None = Field(default=None, gt=0, le=10_000)
    hours: float | None = Field(default=None, gt=0, le=10_000)

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if sum(v is not None for v in (self.working_days, self.working_hours, self.hours)) != 1:
            raise ValueError("a limit is exactly one of working_days, working_hours, hours")
        return self

    @property
    def basis(self) -> Basis:
        if self.working_days is not None:
            return Basis.WORKING_DAYS
        return Basis.WORKING_HOURS if self.working_hours is not None else Basis.WALL


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    first_contact: Limit | None = None
    acknowledge: Limit | None = None
    handle: Limit
    verify: Limit | None = None


class Escalation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    warn_at: float = Field(default=0.8, gt=0, lt=1)
    supervise_at: list[float] = Field(default_factory=lambda: [1.2, 2.0])

    @model_validator(mode="after")
    def _rising(self) -> Self:
        if any(f <= 1 for f in self.supervise_at) or self.supervise_at != sorted(set(self.supervise_at)):
            raise ValueError("supervise_at must be rising fractions above 1.0")
        return self

    def fire_points(self) -> dict[str, float]:
        """Timer kind → fraction of the deadline's time at which it fires."""
        points = {"warn": self.warn_at, "due": 1.0}
        points.update({f"escalate:{level}": f for level, f in enumerate(self.supervise_at, start=1)})
        return points


class TrafficLight(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    yellow_at: float = Field(default=0.8, gt=0)
    red_at: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.yellow_at > self.red_at:
            raise ValueError("yellow_at must not exceed red_at")
        return self

    def colour(self, fraction: float) -> str:
        if fraction >= self.red_at:
            return "red"
        return "yellow" if fraction >= self.yellow_at else "green"


class Rules(BaseModel):
    """Everything `profiles.yaml` configures."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    escalation: Escalation = Field(default_factory=Escalation)
    traffic_light: TrafficLight = Field(default_factory=TrafficLight)
    whistle_checkin: Limit = Field(default_factory=lambda: Limit(hours=2))
    verify: Limit = Field(default_factory=lambda: Limit(working_hours=4))
    default_profile: str
    profiles: dict[str, Profile]
    levels: dict[Literal["district", "street", "community"], Limit] = Field(default_factory=dict)
    """Each handling level's own limit, counted from the moment a case reaches it (`level:<level>` clocks)."""

    @model_validator(mode="after")
    def _default_exists(self) -> Self:
        if self.default_profile not in self.profiles:
            raise ValueError(f"default_profile {self.default_profile!r} is not among the profiles")
        return self

    def profile(self, name: str) -> tuple[Profile, list[str]]:
        """The named profile, or the default one with a warning a user will see on the case."""
        if name in self.profiles:
            return self.profiles[name], []
        return self.profiles[self.default_profile], [
            f"unknown deadline profile {name!r}: used {self.default_profile!r}"
        ]

    def verify_limit(self, profile: Profile) -> Limit:
        return profile.verify or self.verify

    @classmethod
    def from_yaml(cls, path: Path) -> Rules:
        return cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
