"""The department directory: who may be dispatched to, and whom supervision (督办) climbs to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Department:
    code: str
    name: str = ""
    kind: str = ""
    parent: str | None = None
    street_code: str | None = None


class DepartmentDirectory:
    """Departments by code, with their parent chain. An empty directory accepts any code (no validation)."""

    def __init__(self, departments: Iterable[Department] = ()) -> None:
        self.by_code = {d.code: d for d in departments}

    @classmethod
    def from_yaml(cls, path: Path) -> DepartmentDirectory:
        """Read `[{code, name, kind, parent, street_code}]` (bare list or under `departments:`)."""
        if not path.exists():
            log.warning("departments_file_missing", path=str(path))
            return cls()
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        items = raw.get("departments", []) if isinstance(raw, dict) else raw
        return cls(
            Department(
                code=str(item["code"]), name=str(item.get("name") or ""), kind=str(item.get("kind") or ""),
                parent=str(item["parent"]) if item.get("parent") else None,
                street_code=str(item["street_code"]) if item.get("street_code") else None,
            )
            for item in items
        )

    def __bool__(self) -> bool:
        return bool(self.by_code)

    def knows(self, code: str) -> bool:
        return not self.by_code or code in self.by_code

    def unknown(self, codes: Iterable[str]) -> list[str]:
        return [c for c in codes if not self.knows(c)]

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
