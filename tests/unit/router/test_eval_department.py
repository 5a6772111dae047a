"""`make eval`'s precision at the level of the owning department, and the class added for real messages (企业排污)."""

from __future__ import annotations

import numpy as np

from router.channels import ChannelCategories
from router.config import RouterSettings
from router.reference import ReferenceData
from shared.departments import Department, DepartmentDirectory
from shared.taxonomy import Taxonomy
from tools.eval import QUEUE, department_right, district_owners, owners


def test_department_right_counts_a_neighbouring_class_of_the_same_owner_as_right() -> None:
    owner = {"A1": "roads", "A2": "roads", "B1": "police"}
    decided = ["A1", "A2", "B1", QUEUE, "A1", "B1"]
    truth = ["A1", "A1", "A1", "A1", QUEUE, "B1"]
    # Only dispatched decisions count: A1/A1 right, A2/A1 same owner, B1/A1 another owner, A1 on a queue message
    # wrong at every level, B1/B1 right; the queued decision (4th) is not a dispatch.
    assert department_right(decided, truth, owner).tolist() == [True, True, False, False, True]
    class_level = [d == t for d, t in zip(decided, truth, strict=True) if d != QUEUE]
    assert class_level == [True, False, False, False, True]


def test_department_right_of_nothing_dispatched_is_empty() -> None:
    assert department_right([QUEUE, QUEUE], ["A1", QUEUE], {"A1": "roads"}).size == 0
    assert department_right([], [], {}).dtype == np.bool_


def test_owners_are_the_departments_routing_finds() -> None:
    taxonomy = Taxonomy.load()
    owner = district_owners(taxonomy, RouterSettings())
    assert set(owner) == {c.id for c in taxonomy}
    assert taxonomy.get("C0107").department_kind == "telecom" and owner["C0107"] == "CGW"  # → city_management
    assert owner["C0603"] == owner["I0404"]  # water_affairs → drainage in the demo district
    assert owner["I0611"] == owner["I0602"] == "STHJ"


def test_owners_stop_at_the_first_kind_the_district_has() -> None:
    """Routing takes the first department on the fallback path; a later kind of the path does not count."""
    taxonomy = Taxonomy.load()
    departments = DepartmentDirectory(
        [Department(code="CG", kind="city_management"), Department(code="DX", kind="telecom_office")]
    )
    fallbacks = {"telecom": "city_management", "city_management": "telecom_office"}
    assert owners(taxonomy, departments, fallbacks)["C0107"] == "CG"
    # A cycle with no department on it leaves the class unowned instead of looping.
    assert owners(taxonomy, departments, {"telecom": "x", "x": "telecom"})["C0107"] == "(telecom)"


def test_industrial_pollution_is_a_class_owned_by_the_environment_bureau(ref: ReferenceData) -> None:
    klass = Taxonomy.load().get("I0611")
    assert (klass.name, klass.department_kind, klass.source) == ("企业排污", "ecology_environment", "local")
    dept, _ = ref.departments.resolve(klass.department_kind, "110199011", {})
    assert dept is not None and dept.code == "STHJ"
    classifier = ref.categorizer.classifier
    for text in ("举报化工厂夜间偷排废水，河里的鱼都死了", "我们村旁边的养猪场臭气熏天，猪粪直排小溪"):
        assert classifier.classify(text).category_id == "I0611", text


def test_hotline_pollution_leaves_may_choose_the_new_class() -> None:
    channels = ChannelCategories.load(Taxonomy.load(), RouterSettings().hotline_mapping_path)
    mapping = channels.schemes["hotline"]
    for leaf in ("环境保护/环境污染/水污染", "环境保护/环境污染/大气污染", "环境保护/环保管理/环境执法"):
        assert "I0611" in mapping[leaf].among, leaf
