"""The shipped reference files agree with each other: every taxonomy class can be timed and owned.

The taxonomy names a deadline profile and a department kind per class; the workflow's profiles file
defines the profiles' limits and the district's department directory (with the rules' fallbacks) the
departments. A class whose profile the workflow does not define would be filed with the default profile
and a warning; a class no department can own would always fall to the dispatchers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from router.config import RouterSettings
from router.rules import parse_rules
from shared.departments import DepartmentDirectory
from shared.taxonomy import Taxonomy
from workflow.config import Rules, WorkflowSettings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy.load()


def test_every_taxonomy_profile_is_defined_by_the_workflow(taxonomy: Taxonomy) -> None:
    workflow_profiles = set(Rules.from_yaml(WorkflowSettings().profiles_path).profiles)
    named = {c.deadline_profile for c in taxonomy} | set(taxonomy.urgency_profiles.values()) | set(taxonomy.profiles)
    assert named - workflow_profiles == set()


def test_every_rule_profile_is_defined_by_the_workflow() -> None:
    workflow_profiles = set(Rules.from_yaml(WorkflowSettings().profiles_path).profiles)
    rules = parse_rules(RouterSettings().rules_path.read_text(encoding="utf-8"), "rules.yaml", None)
    used = {r.then.deadline_profile for r in rules.ordered if r.then.deadline_profile}
    assert used and used - workflow_profiles == set()


def test_every_taxonomy_class_has_an_owner_in_the_demo_district(taxonomy: Taxonomy) -> None:
    directory = DepartmentDirectory.from_yaml(ROOT / "deploy" / "demo" / "departments.yaml")
    rules = parse_rules(RouterSettings().rules_path.read_text(encoding="utf-8"), "rules.yaml", None)
    fallbacks = rules.doc.department_fallbacks
    streets = {d.street_code for d in directory.by_code.values() if d.street_code}
    assert streets

    def owned_everywhere(kind: str) -> bool:
        """A district-wide department, or one in every street (street offices)."""
        return all(directory.resolve(kind, street, fallbacks)[0] is not None for street in streets)

    ownerless = {c.id: c.department_kind for c in taxonomy if not owned_everywhere(c.department_kind)}
    assert ownerless == {}
