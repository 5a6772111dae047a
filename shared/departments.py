"""The district's department directory: one file, read one way by every service.

The router asks it who owns a kind of work in a street; the workflow asks it whether a code may be
dispatched to and whom supervision (督办) climbs to. It is also the unit hierarchy of tiered handling
(分级分层处置): a unit's `level` says whether it works for the district centre (the default), is stationed in
a street (`street_code`: a street team or a department's squad answering the street centre) or serves one
community (`community_code`: its grid workers, 网格员). A missing or malformed file stops the service at
start-up: a workflow that accepted any code would dispatch to departments no one can sign in as.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

Level = Literal["district", "street", "community"]
LEVELS: tuple[Level, ...] = ("community", "street", "district")
"""Handling levels, lowest first: 网格小循环 · 街镇中循环 · 区级大循环."""


class Department(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    code: str
    name: str = ""
    kind: str = ""
    parent: str | None = None
    street_code: str | None = None
    level: Level = "district"
    community_code: str | None = None

    @model_validator(mode="after")
    def _placed(self) -> Department:
        if self.level == "street" and not self.street_code:
            raise ValueError(f"{self.code}: a street-level unit needs its street_code")
        if self.level == "community" and not (self.community_code and self.street_code):
            raise ValueError(f"{self.code}: a community-level unit needs its street_code and community_code")
        return self

    def place(self) -> str | None:
        """The street or community it serves at its level (None for district units)."""
        return {"street": self.street_code, "community": self.community_code}.get(self.level)


class DepartmentDirectory:
    """Departments by code with their parent chain, and by (kind, street) for who owns a kind of work."""

    def __init__(self, departments: Iterable[Department]) -> None:
        self.by_code: dict[str, Department] = {}
        self._by_kind: dict[tuple[str, str | None], Department] = {}
        self._by_level: dict[tuple[Level, str, str | None], Department] = {}
        for dept in departments:
            self.by_code[dept.code] = dept
            if dept.level == "district":  # stationed units never take a district-level case by kind
                self._by_kind.setdefault((dept.kind, dept.street_code), dept)
            else:
                self._by_level.setdefault((dept.level, dept.kind, dept.place()), dept)

    @classmethod
    def from_yaml(cls, path: Path) -> DepartmentDirectory:
        """Read `departments: [{code, name, kind, parent, street_code}]`; FileNotFoundError when absent."""
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        items = raw.get("departments", []) if isinstance(raw, dict) else []
        if not items:
            raise ValueError(f"{path}: no departments (expected a 'departments:' list)")
        return cls(Department.model_validate(d) for d in items)

    def __contains__(self, code: object) -> bool:
        return code in self.by_code

    def knows(self, code: str) -> bool:
        return code in self.by_code

    def unknown(self, codes: Iterable[str]) -> list[str]:
        return [c for c in codes if c not in self.by_code]

    def kinds(self) -> set[str]:
        return {d.kind for d in self.by_code.values()}

    def resolve(
        self, kind: str, street_code: str | None, fallbacks: Mapping[str, str] | None = None
    ) -> tuple[Department | None, str]:
        """The department of `kind` serving the street, else the district-wide one, following `fallbacks`
        (kind → kind that takes its work here) when the district has none; with how it was found."""
        fallbacks = fallbacks or {}
        seen: list[str] = []
        current: str | None = kind
        while current is not None and current not in seen:
            seen.append(current)
            local = self._by_kind.get((current, street_code)) if street_code else None
            dept = local or self._by_kind.get((current, None))
            if dept is not None:
                via = f" (via {' → '.join(seen)})" if len(seen) > 1 else ""
                return dept, f"{dept.code} is the {current} department{via}"
            current = fallbacks.get(current)
        return None, f"no department of kind {' → '.join(seen)}" + (f" in street {street_code}" if street_code else "")

    def at_level(self, level: Level, kind: str | None, place: str | None) -> Department | None:
        """The unit of `kind` (any kind when None) serving `place` (a street or community code) at `level`."""
        if kind is not None:
            return self._by_level.get((level, kind, place))
        return next((d for (lv, _, p), d in self._by_level.items() if lv == level and p == place), None)

    def chain(self, code: str | None) -> list[str]:
        """Ancestors of `code`, nearest first (cycles in a bad file are cut)."""
        out: list[str] = []
        current = self.by_code.get(code) if code else None
        while current is not None and current.parent and current.parent not in out and current.parent != code:
            out.append(current.parent)
            current = self.by_code.get(current.parent)
        return out

    def escalation_target(self, code: str | None, level: int) -> str | None:
        """Who supervises at `level` (1 = parent): climbs the chain, staying at its top when it ends."""
        chain = self.chain(code)
        if not chain:
            return None
        return chain[min(level, len(chain)) - 1]
