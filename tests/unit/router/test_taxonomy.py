"""The GB/T 30428.2-style taxonomy shipped in shared/taxonomy, and its loader."""

from __future__ import annotations

import pytest

from router.rules import RuleSet
from shared.departments import DepartmentDirectory
from shared.taxonomy import Taxonomy, TaxonomyError

COMPONENT_MAJORS = ["公用设施", "道路交通", "市容环境", "园林绿化", "房屋土地", "其他设施"]
INCIDENT_MAJORS = ["市容环境", "宣传广告", "施工管理", "突发事件", "街面秩序", "其他事件"]


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy.load()


def test_major_classes_follow_the_standard(taxonomy: Taxonomy) -> None:
    assert [m.name for m in taxonomy.majors("component")] == COMPONENT_MAJORS
    assert [m.name for m in taxonomy.majors("incident")] == INCIDENT_MAJORS
    assert [m.code for m in taxonomy.majors("component")] == ["01", "02", "03", "04", "05", "06"]


def test_full_list_not_a_sample(taxonomy: Taxonomy) -> None:
    assert len(taxonomy.minor_classes("component")) >= 80
    assert len(taxonomy.minor_classes("incident")) >= 60
    assert all(len(m.classes) >= 6 for m in taxonomy.majors())


def test_standard_codes_look_up_by_kind(taxonomy: Taxonomy) -> None:
    cover = taxonomy.find("component", "0101")
    assert (cover.id, cover.name, cover.kind, cover.major_name) == ("C0101", "上水井盖", "component", "公用设施")
    assert taxonomy.find("incident", "0101").name == "私搭乱建"
    assert taxonomy.get("I0501").name == "无照经营游商"
    with pytest.raises(KeyError, match="C9999"):
        taxonomy.get("C9999")


def test_every_class_is_complete_and_sourced(taxonomy: Taxonomy) -> None:
    for c in taxonomy:
        assert c.code == c.id[1:] and c.keywords and c.source in ("standard", "local")
        assert c.deadline_profile in taxonomy.profiles
        assert set(c.urgency_levels) <= {"normal", "high", "urgent"}
    assert sum(c.source == "standard" for c in taxonomy) > sum(c.source == "local" for c in taxonomy)


def test_working_hours_default_to_the_profile(taxonomy: Taxonomy) -> None:
    assert taxonomy.get("C0101").working_hours == taxonomy.profile("component-A").handle
    assert taxonomy.get("I0101").working_hours == taxonomy.profile("incident-C").handle


def test_every_department_kind_has_a_department_in_the_demo_district(
    taxonomy: Taxonomy, rules: RuleSet, ref: object
) -> None:
    directory: DepartmentDirectory = ref.departments  # type: ignore[attr-defined]
    fallbacks = rules.doc.department_fallbacks
    for kind in sorted(taxonomy.department_kinds()):
        dept, how = directory.resolve(kind, "110199011", fallbacks)
        assert dept is not None, how


def test_malformed_taxonomy_is_refused_with_the_class_named() -> None:
    raw = {
        "profiles": {"p": {"basis": "working_hours", "handle": 4}},
        "kinds": {
            "component": {
                "name": "部件",
                "majors": {
                    "01": {
                        "name": "公用设施",
                        "classes": [
                            {
                                "code": "01",
                                "name": "上水井盖",
                                "department_kind": "water",
                                "deadline_profile": "nope",
                                "urgency_levels": ["normal"],
                                "keywords": ["井盖"],
                                "source": "standard",
                            }
                        ],
                    }
                },
            }
        },
    }
    with pytest.raises(TaxonomyError, match="component 0101: unknown deadline profile 'nope'"):
        Taxonomy.from_dict(raw)
    raw["kinds"]["component"]["majors"]["01"]["classes"][0]["deadline_profile"] = "p"  # type: ignore[index]
    raw["kinds"]["component"]["majors"]["01"]["classes"][0]["source"] = "folklore"  # type: ignore[index]
    with pytest.raises(TaxonomyError, match="source"):
        Taxonomy.from_dict(raw)
