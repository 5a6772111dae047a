"""Reference data of the demo district and its rules, loaded once per test session (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.config import RouterSettings
from router.reference import ReferenceData
from router.rules import RuleSet, parse_rules
from tools.realdata import REALDATA


@pytest.fixture(scope="session")
def ref() -> ReferenceData:
    return ReferenceData.cached(RouterSettings())


@pytest.fixture(scope="session")
def rules(ref: ReferenceData) -> RuleSet:
    path = RouterSettings().rules_path
    return parse_rules(path.read_text(encoding="utf-8"), str(path), ref.context, version=1)


def realdata(name: str) -> Path:
    path = REALDATA / name
    if not path.exists():
        pytest.skip(f"real test data {path} is not there (../shared/realdata, or CITYLOOP_REALDATA)")
    return path
