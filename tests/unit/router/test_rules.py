"""Rule documents: validated on load with file and line, matched first-by-precedence, windows per category."""

from __future__ import annotations

import re
from datetime import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.reference import ReferenceData
from router.rules import Facts, MergePolicy, MergeWindow, NightWindow, RuleSet, category_matches, parse_rules
from router.yamlines import YamlFileError


def refuse(text: str, ref: ReferenceData) -> list[tuple[int | None, str, str]]:
    with pytest.raises(YamlFileError) as info:
        parse_rules(text, "rules.yaml", ref.context)
    assert all(p.source == "rules.yaml" for p in info.value.problems)
    return [(p.line, p.field, p.reason) for p in info.value.problems]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_demo_rules_load_in_precedence_order(rules: RuleSet) -> None:
    precedences = [r.precedence for r in rules.ordered]
    assert precedences == sorted(precedences, reverse=True)
    assert rules.ordered[0].id == "life-safety-words"


# A rule document of the test's own: the demo district's rules may be reordered or edited freely.
SAMPLE = """\
name: sample
night: {start: "22:00", end: "06:00"}
rules:
  - id: night-noise
    precedence: 650
    description: construction noise at night goes to enforcement
    when: {categories: [I0301], night: true}
    then: {department: CGZF, priority: high, deadline_profile: incident-A}

  - id: street-led-neighbourhood
    precedence: 580
    description: complex tickets about group renting are led by the street
    when: {channels: [hotline], hotline_class: complex, categories: [I0603]}
    then: {department_kind: street_office, whistle: true, whistle_department_kinds: [housing, market_supervision]}

  - id: hotline-complex
    precedence: 300
    description: a complex 12345 ticket has 15 working days
    when: {channels: [hotline], hotline_class: complex}
    then: {deadline_profile: 1515-complex}

  - id: hotline-general
    precedence: 290
    description: a 12345 ticket has 5 working days
    when: {channels: [hotline]}
    then: {deadline_profile: 1515-general}
"""


def rule_index(rule_id: str) -> int:
    ids = re.findall(r"^  - id: (\S+)$", SAMPLE, flags=re.MULTILINE)
    return ids.index(rule_id)


def test_sample_rules_load(ref: ReferenceData) -> None:
    assert [r.id for r in parse_rules(SAMPLE, "rules.yaml", ref.context).ordered] == [
        "night-noise",
        "street-led-neighbourhood",
        "hotline-complex",
        "hotline-general",
    ]


@pytest.mark.parametrize(
    ("before", "after", "rule_id", "field", "reason"),
    [
        (
            "deadline_profile: 1515-complex}",
            "deadline_profile: 1515-compex}",
            "hotline-complex",
            "then.deadline_profile",
            "unknown deadline profile '1515-compex'",
        ),
        (
            "then: {department: CGZF,",
            "then: {department: XXXX,",
            "night-noise",
            "then.department",
            "unknown department",
        ),
        (
            "categories: [I0301], night: true",
            "categories: [I9999], night: true",
            "night-noise",
            "when.categories",
            "matches no taxonomy category",
        ),
        (
            "channels: [hotline], hotline_class: complex}",
            "channels: [fax], hotline_class: complex}",
            "hotline-complex",
            "when.channels[0]",
            "Input should be",
        ),
        ("precedence: 290", "precedence: 300", "hotline-general", "precedence", "same precedence"),
        (
            "    precedence: 650\n",
            "    precedence: 650\n    priority: high\n",
            "night-noise",
            "priority",
            "Extra inputs are not permitted",
        ),
        (
            "whistle_department_kinds: [housing, market_supervision]",
            "whistle_department_kinds: [astrology]",
            "street-led-neighbourhood",
            "then.whistle_department_kinds",
            "no department of kind 'astrology'",
        ),
    ],
)
def test_malformed_rule_is_refused_with_line_and_reason(
    before: str, after: str, rule_id: str, field: str, reason: str, ref: ReferenceData
) -> None:
    assert SAMPLE.count(before) == 1
    text = SAMPLE.replace(before, after, 1)
    [(line, got_field, got_reason)] = refuse(text, ref)
    assert got_field == f"rules[{rule_index(rule_id)}].{field}"
    assert reason in got_reason
    first_changed = next(
        i for i, (a, b) in enumerate(zip(SAMPLE.splitlines(), text.splitlines(), strict=False), 1) if a != b
    )
    assert line == first_changed


def test_yaml_syntax_error_and_duplicate_key_name_their_line(ref: ReferenceData) -> None:
    [(line, _, reason)] = refuse("name: x\nrules:\n  - {id: a, precedence: 1\n", ref)
    assert line == 4 and "YAML syntax" in reason
    text = "name: x\nnight: {start: '22:00'}\nname: y\n"
    [(line, field, reason)] = refuse(text, ref)
    assert (line, field, reason) == (3, "name", "duplicate key")


def test_missing_required_field_points_at_its_rule(ref: ReferenceData) -> None:
    text = "name: x\nrules:\n  - id: a\n    precedence: 1\n    then: {priority: high}\n"
    [(line, field, reason)] = refuse(text, ref)
    assert (line, field) == (3, "rules[0].description")
    assert "required" in reason.lower()


def test_unquoted_time_is_refused_not_misread(ref: ReferenceData) -> None:
    [(line, field, reason)] = refuse("name: x\nnight:\n  start: 22:00\n", ref)
    assert (line, field) == (3, "night.start") and "quotes" in reason


def test_top_level_must_be_a_mapping(ref: ReferenceData) -> None:
    [(line, _, reason)] = refuse("- just\n- a list\n", ref)
    assert line == 1 and "mapping" in reason


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300), st.from_regex(r"name: [a-z]+\nrules:\n(  - [{}\[\]a-z:, 0-9\n]*)*", fullmatch=True)
    )
)
def test_any_text_is_either_a_rule_set_or_refused_with_a_line(text: str) -> None:
    try:
        parse_rules(text, "fuzz.yaml", None)
    except YamlFileError as exc:
        assert exc.problems and all(p.source == "fuzz.yaml" and p.reason for p in exc.problems)


@given(st.times(), st.times(), st.times())
def test_night_window_wraps_midnight(start: time, end: time, t: time) -> None:
    window = NightWindow(start=start, end=end)
    inside = window.contains(t)
    if start <= end:
        assert inside == (start <= t < end)
    else:
        assert inside == (not (end <= t < start))


@given(st.from_regex(r"[CI]0[1-6][0-3][0-9]", fullmatch=True))
def test_category_patterns(category: str) -> None:
    assert category_matches("*", category)
    assert category_matches(category[0] + "*", category)
    assert category_matches(category[:3] + "*", category)
    assert not category_matches(("I" if category[0] == "C" else "C") + "*", category)


def test_most_specific_merge_override_wins() -> None:
    policy = MergePolicy(
        default=MergeWindow(radius_m=30, window_hours=72),
        overrides=(
            {"categories": ("C01*",), "radius_m": 15, "window_hours": 720},
            {"categories": ("C0118",), "radius_m": 5, "window_hours": 24},
        ),  # type: ignore[arg-type]
    )
    assert policy.window_for("C0118").radius_m == 5
    assert policy.window_for("C0101").radius_m == 15
    assert policy.window_for("I0102").radius_m == 30


def facts(**kw: object) -> Facts:
    base: dict[str, object] = dict(
        category_id="I0102",
        kind="incident",
        street_code="110199011",
        community_code=None,
        cell_code=None,
        channel="patrol",
        night=False,
        holiday=False,
        text="",
        severity=None,
        urgency="normal",
        hotline_class=None,
    )
    base.update(kw)
    return Facts(**base)  # type: ignore[arg-type]


def test_first_match_by_precedence_and_why(rules: RuleSet) -> None:
    fired = rules.first_match(facts(category_id="I0403", severity="critical"))
    assert fired is not None and fired[0].id == "critical-alarm"
    fired = rules.first_match(facts(category_id="I0403", severity="major"))
    assert fired is not None and fired[0].id == "gas-leak"
    fired = rules.first_match(facts(category_id="I0102", holiday=True))
    assert fired is not None
    rule, why = fired
    assert rule.id == "holiday-sanitation"
    assert why == ["category I0102 in ['I0102', 'I0103', 'I0104', 'I0107', 'C0301', 'C0307']", "on a day off"]
    assert rules.first_match(facts(category_id="C0405")) is None
