"""The shipped profiles file, its validation, and the department chain supervision climbs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.departments import Department, DepartmentDirectory
from workflow.config import Basis, Escalation, Limit, Rules, WorkflowSettings

TEST_DEPARTMENTS = Path(__file__).resolve().parents[2] / "integration" / "workflow" / "departments.yaml"


def test_shipped_profiles_hold_the_1515_rule_and_the_whistle_limit() -> None:
    rules = Rules.from_yaml(WorkflowSettings().profiles_path)
    general, complex_ = rules.profiles["1515-general"], rules.profiles["1515-complex"]
    assert general.first_contact == Limit(working_days=1)
    assert (general.handle.working_days, complex_.handle.working_days) == (5, 15)
    assert rules.whistle_checkin == Limit(hours=2) and rules.whistle_checkin.basis is Basis.WALL
    assert {"urgent-2h", "component-A", "component-B", "component-C"} <= set(rules.profiles)
    assert rules.escalation.fire_points() == {"warn": 0.8, "due": 1.0, "escalate:1": 1.2, "escalate:2": 2.0}


def test_an_unknown_profile_falls_back_to_the_default_with_a_warning() -> None:
    rules = Rules.from_yaml(WorkflowSettings().profiles_path)
    profile, warnings = rules.profile("no-such-profile")
    assert profile == rules.profiles[rules.default_profile]
    assert warnings and "no-such-profile" in warnings[0]


@pytest.mark.parametrize("raw", [{}, {"working_days": 1, "hours": 2}, {"working_days": 0}, {"minutes": 5}])
def test_a_limit_is_exactly_one_positive_amount(raw: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        Limit.model_validate(raw)


@pytest.mark.parametrize("levels", [[0.9], [2.0, 1.2], [1.2, 1.2]])
def test_supervision_levels_must_rise_past_the_deadline(levels: list[float]) -> None:
    with pytest.raises(ValidationError):
        Escalation(supervise_at=levels)


def test_supervision_climbs_the_parent_chain_and_stays_at_its_top() -> None:
    directory = DepartmentDirectory.from_yaml(TEST_DEPARTMENTS)
    assert directory.chain("WATER") == ["UTIL", "GOV"]
    assert [directory.escalation_target("WATER", level) for level in (1, 2, 3)] == ["UTIL", "GOV", "GOV"]
    assert directory.escalation_target("GOV", 1) is None
    assert directory.escalation_target("NOPE", 1) is None


def test_a_cycle_in_the_department_file_does_not_hang() -> None:
    directory = DepartmentDirectory([Department(code="A", parent="B"), Department(code="B", parent="A")])
    assert directory.chain("A") == ["B"]


def test_a_missing_or_empty_department_file_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        DepartmentDirectory.from_yaml(tmp_path / "absent.yaml")
    (tmp_path / "empty.yaml").write_text("departments: []\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no departments"):
        DepartmentDirectory.from_yaml(tmp_path / "empty.yaml")
