"""Channels' own category codes (12345 leaves, video algorithms, IoT alarm types, Open311 services) → taxonomy.

A code maps to one taxonomy class, to a set of classes the text then chooses among (`among: [C01*]`),
or explicitly to the dispatchers' queue (`queue`). Data: data/hotline_mapping.yaml, data/channel_categories.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from router.rules import category_matches
from shared.contracts.common import CategoryRef
from shared.taxonomy import Taxonomy

QUEUE = "queue"
_SEPARATORS = re.compile(r"\s*[/>／＞|-]\s*")


@dataclass(frozen=True)
class Target:
    """What a channel code means: one class, a choice among patterns, or the queue."""

    category_id: str | None = None
    among: tuple[str, ...] = ()
    by_owner_kind: Mapping[str, str] | None = None

    @property
    def queue(self) -> bool:
        return self.category_id is None and not self.among and not self.by_owner_kind


def parse_target(raw: Any, taxonomy: Taxonomy, where: str) -> Target:
    if raw == QUEUE or raw is None:
        return Target()
    if isinstance(raw, str):
        if raw not in taxonomy:
            raise ValueError(f"{where}: unknown taxonomy category {raw!r}")
        return Target(category_id=raw)
    if isinstance(raw, Mapping) and "among" in raw:
        among = tuple(str(p) for p in raw["among"])
        for pattern in among:
            if not any(category_matches(pattern, c.id) for c in taxonomy):
                raise ValueError(f"{where}: {pattern!r} matches no taxonomy category")
        return Target(among=among)
    if isinstance(raw, Mapping) and "by_owner_kind" in raw:
        owners = {str(k): str(v) for k, v in raw["by_owner_kind"].items()}
        default = raw.get("default")
        for value in [*owners.values(), *([default] if default else [])]:
            if value not in taxonomy:
                raise ValueError(f"{where}: unknown taxonomy category {value!r}")
        return Target(category_id=default, by_owner_kind=owners)
    raise ValueError(
        f"{where}: expected a category id, {{among: [...]}}, {{by_owner_kind: ...}} or 'queue', got {raw!r}"
    )


class ChannelCategories:
    """Per scheme, code → Target; hotline leaves are also found by their path in other spellings or by a unique leaf."""

    def __init__(self, schemes: Mapping[str, Mapping[str, Target]]) -> None:
        self.schemes = {scheme: dict(codes) for scheme, codes in schemes.items()}
        self._leaf_index: dict[str, dict[str, str | None]] = {}
        for scheme, codes in self.schemes.items():
            index: dict[str, str | None] = {}
            for key in codes:
                leaf = key.rsplit("/", 1)[-1]
                index[leaf] = None if leaf in index else key  # None: the leaf name alone is ambiguous
            self._leaf_index[scheme] = index

    @classmethod
    def load(cls, taxonomy: Taxonomy, *paths: Path) -> ChannelCategories:
        schemes: dict[str, dict[str, Target]] = {}
        for path in paths:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for scheme, codes in (raw.get("schemes") or {}).items():
                target = schemes.setdefault(scheme, {})
                for code, value in (codes or {}).items():
                    target[str(code)] = parse_target(value, taxonomy, f"{path}: {scheme}.{code}")
        return cls(schemes)

    def resolve(self, hint: CategoryRef) -> Target | None:
        codes = self.schemes.get(hint.scheme)
        if not codes:
            return None
        for candidate in (hint.code, hint.name):
            if not candidate:
                continue
            if candidate in codes:
                return codes[candidate]
            normalised = _SEPARATORS.sub("/", candidate.strip())
            if normalised in codes:
                return codes[normalised]
            key = self._leaf_index[hint.scheme].get(normalised.rsplit("/", 1)[-1])
            if key is not None and (normalised == key.rsplit("/", 1)[-1] or key.endswith("/" + normalised)):
                return codes[key]
        return None
