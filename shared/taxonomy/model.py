"""Typed view of `taxonomy.yaml`: deadline profiles, major and minor classes of both kinds."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.contracts.common import CategoryRef

Kind = Literal["component", "incident"]
Source = Literal["standard", "local"]
Priority = Literal["normal", "high", "urgent"]

DEFAULT_PATH = Path(__file__).with_name("taxonomy.yaml")
SCHEME = "taxonomy"
_PREFIX: dict[str, str] = {"component": "C", "incident": "I"}


class TaxonomyError(ValueError):
    """The taxonomy file is malformed or refers to something it does not define."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DeadlineProfile(_Frozen):
    """How a case's handling deadline is counted; workflow turns the name into timers."""

    name: str
    basis: Literal["working_days", "working_hours", "wall_clock_hours"]
    handle: float = Field(gt=0, description="days or hours, in the unit `basis` names")
    first_contact_working_days: int | None = None
    description: str = ""


class MinorClass(_Frozen):
    """One minor class (小类): the unit a report is classified into."""

    id: str = Field(description="unique across kinds: C0101 is component 0101, I0101 incident 0101")
    kind: Kind
    major: str = Field(pattern=r"^\d{2}$")
    major_name: str
    code: str = Field(pattern=r"^\d{4}$", description="the standard's 4-digit code: major + minor")
    name: str
    department_kind: str
    deadline_profile: str
    working_hours: float = Field(gt=0, description="handling limit in office hours")
    urgency_levels: tuple[Priority, ...] = Field(min_length=1)
    keywords: tuple[str, ...] = Field(min_length=1)
    source: Source

    def ref(self) -> CategoryRef:
        return CategoryRef(scheme=SCHEME, code=self.id, name=self.name)


class MajorClass(_Frozen):
    kind: Kind
    code: str
    name: str
    classes: tuple[MinorClass, ...]


class _RawMajor(_Frozen):
    name: str
    defaults: dict[str, Any] = Field(default_factory=dict)
    classes: list[dict[str, Any]]


class _RawKind(_Frozen):
    name: str
    majors: dict[str, _RawMajor]


class _RawFile(_Frozen):
    profiles: dict[str, dict[str, Any]]
    urgency_profiles: dict[str, str] = Field(default_factory=dict)
    kinds: dict[Kind, _RawKind]


class Taxonomy:
    """All categories; look-ups by id, by (kind, code), and listings by kind or major class."""

    def __init__(
        self,
        majors: list[MajorClass],
        profiles: Mapping[str, DeadlineProfile],
        urgency_profiles: Mapping[str, str],
    ) -> None:
        self._majors = majors
        self.profiles: dict[str, DeadlineProfile] = dict(profiles)
        self.urgency_profiles: dict[str, str] = dict(urgency_profiles)
        self._by_id: dict[str, MinorClass] = {}
        for major in majors:
            for minor in major.classes:
                if minor.id in self._by_id:
                    raise TaxonomyError(f"duplicate class id {minor.id}")
                if minor.deadline_profile not in self.profiles:
                    raise TaxonomyError(f"{minor.id}: unknown deadline profile {minor.deadline_profile!r}")
                self._by_id[minor.id] = minor
        for level, name in self.urgency_profiles.items():
            if name not in self.profiles:
                raise TaxonomyError(f"urgency level {level}: unknown deadline profile {name!r}")

    @classmethod
    def load(cls, path: str | Path | None = None) -> Taxonomy:
        """The taxonomy shipped with the kernel, or one read from `path`."""
        return _load_cached(str(path or DEFAULT_PATH))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Taxonomy:
        try:
            parsed = _RawFile.model_validate(raw)
            profiles = {name: DeadlineProfile(name=name, **p) for name, p in parsed.profiles.items()}
            majors = [
                _major(kind, code, raw_major, profiles)
                for kind, raw_kind in parsed.kinds.items()
                for code, raw_major in sorted(raw_kind.majors.items())
            ]
        except ValidationError as exc:
            raise TaxonomyError(str(exc)) from exc
        return cls(majors, profiles, parsed.urgency_profiles)

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[MinorClass]:
        return iter(self._by_id.values())

    def __contains__(self, category_id: object) -> bool:
        return category_id in self._by_id

    def get(self, category_id: str) -> MinorClass:
        """The class with this id (`C0101`); KeyError names the unknown id."""
        try:
            return self._by_id[category_id]
        except KeyError:
            raise KeyError(f"unknown taxonomy category {category_id!r}") from None

    def find(self, kind: Kind, code: str) -> MinorClass:
        """The class a standard code names within its kind: `find("component", "0101")`."""
        return self.get(f"{_PREFIX[kind]}{code}")

    def minor_classes(self, kind: Kind | None = None, major: str | None = None) -> list[MinorClass]:
        return [
            m for m in self._by_id.values() if (kind is None or m.kind == kind) and (major is None or m.major == major)
        ]

    def majors(self, kind: Kind | None = None) -> list[MajorClass]:
        return [m for m in self._majors if kind is None or m.kind == kind]

    def profile(self, name: str) -> DeadlineProfile:
        try:
            return self.profiles[name]
        except KeyError:
            raise KeyError(f"unknown deadline profile {name!r}") from None

    def department_kinds(self) -> set[str]:
        return {m.department_kind for m in self._by_id.values()}


def _major(kind: Kind, code: str, raw: _RawMajor, profiles: Mapping[str, DeadlineProfile]) -> MajorClass:
    minors = []
    for entry in raw.classes:
        values = {**raw.defaults, **entry}
        minor_code = str(values.pop("code"))
        profile_name = str(values.get("deadline_profile"))
        profile = profiles.get(profile_name)
        if profile is None:
            raise TaxonomyError(f"{kind} {code}{minor_code}: unknown deadline profile {profile_name!r}")
        if "working_hours" not in values:
            if profile.basis != "working_hours":
                raise TaxonomyError(
                    f"{kind} {code}{minor_code}: profile {profile.name} is not in working hours; give `working_hours`"
                )
            values["working_hours"] = profile.handle
        minors.append(
            MinorClass(
                id=f"{_PREFIX[kind]}{code}{minor_code}",
                kind=kind,
                major=code,
                major_name=raw.name,
                code=f"{code}{minor_code}",
                **values,
            )
        )
    return MajorClass(kind=kind, code=code, name=raw.name, classes=tuple(minors))


@functools.cache
def _load_cached(path: str) -> Taxonomy:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TaxonomyError(f"{path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise TaxonomyError(f"{path}: expected a mapping at the top level")
    return Taxonomy.from_dict(raw)
