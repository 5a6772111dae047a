"""The district's departments, and which one takes a kind of work in a street."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict


class Department(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    code: str
    name: str
    kind: str
    parent: str | None = None
    street_code: str | None = None


class DepartmentDirectory:
    """Departments by code, and by (kind, street) for resolving who owns a kind of work at a place."""

    def __init__(self, departments: Iterable[Department]) -> None:
        self.by_code: dict[str, Department] = {}
        self._by_kind: dict[tuple[str, str | None], Department] = {}
        for dept in departments:
            self.by_code[dept.code] = dept
            self._by_kind.setdefault((dept.kind, dept.street_code), dept)

    @classmethod
    def from_yaml(cls, path: Path) -> DepartmentDirectory:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls(Department.model_validate(d) for d in raw.get("departments", []))

    def __contains__(self, code: object) -> bool:
        return code in self.by_code

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
