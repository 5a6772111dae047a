"""`route()`: one report → RoutingDecided, ReportMerged or ManualDispatchNeeded, with the reason why.

A pure function of the report, the reference data, the rule set, the open-primaries lookup and the
time, so the whole decision table is testable without a database. The order of the steps is the
precedence between them: classify → locate → merge with an open case → rules → taxonomy defaults.
The event handler runs the same two halves with a database read in between (`analyse`, then `decide`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from router.classify import Classification
from router.locate import Located
from router.merge import PrimaryLookup, find_duplicate
from router.reference import ReferenceData
from router.rules import DEFAULT_RULE_ID, Facts, Rule, RuleSet
from shared.calendar import SHANGHAI
from shared.contracts.common import CategoryRef
from shared.contracts.reports import ReportReceived
from shared.contracts.routing import ManualDispatchNeeded, ReportMerged, RoutedReport, RoutingDecided, RuleRef
from shared.taxonomy import MinorClass

Outcome = Literal["routed", "merged", "manual"]
PRIORITY_ORDER: tuple[Literal["normal", "high", "urgent"], ...] = ("normal", "high", "urgent")


@dataclass(frozen=True)
class Analysis:
    """What the report is, where, and when in local terms: everything a decision needs but the open cases."""

    report: ReportReceived
    classification: Classification
    category: MinorClass | None
    located: Located
    local_time: datetime
    night: bool
    holiday: bool

    def facts(self) -> Facts:
        assert self.category is not None
        r, g = self.report, self.located.grid
        return Facts(
            category_id=self.category.id,
            kind=self.category.kind,
            street_code=g.street_code,
            community_code=g.community_code,
            cell_code=g.cell_code,
            channel=r.channel.value,
            night=self.night,
            holiday=self.holiday,
            text=r.text,
            severity=r.severity,
            urgency=r.urgency,
            hotline_class=r.hotline_class,
        )


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    body: RoutingDecided | ReportMerged | ManualDispatchNeeded
    analysis: Analysis
    rule_id: str
    ruleset_version: int
    reason: str

    @property
    def category_id(self) -> str | None:
        return self.analysis.category.id if self.analysis.category else None


def analyse(report: ReportReceived, ref: ReferenceData, rules: RuleSet, now: datetime) -> Analysis:
    classification = ref.categorizer.categorize(report, rules.doc.hint_confidence)
    category = None
    if classification.category_id and classification.confidence >= rules.doc.classification_threshold:
        category = ref.taxonomy.get(classification.category_id)
    # A clock running behind the channel's must not put a report in the future.
    local = min(report.received_at, now).astimezone(SHANGHAI)
    return Analysis(
        report=report,
        classification=classification,
        category=category,
        located=ref.locator.locate(report),
        local_time=local,
        night=rules.doc.night.contains(local.time()),
        holiday=not ref.calendar.is_workday(local.date()),
    )


def decide(analysis: Analysis, ref: ReferenceData, rules: RuleSet, primaries: PrimaryLookup) -> Decision:
    report, located, category = analysis.report, analysis.located, analysis.category
    c = analysis.classification

    def manual(reason: str, rule_id: str = "classification") -> Decision:
        body = ManualDispatchNeeded(
            report_id=report.report_id,
            reason=reason,
            grid=located.grid,
            candidates=[_ref(ref, code) for code, _ in c.candidates if code in ref.taxonomy],
        )
        return Decision("manual", body, analysis, rule_id, rules.version, reason)

    if category is None:
        if c.category_id is None:
            return manual(f"not classified ({c.method})")
        return manual(f"classification {c.explain()} is below the threshold {rules.doc.classification_threshold:.2f}")
    if not located.found:
        return manual(f"cannot place the report on the grid: {located.detail}", "location")

    location = located.location
    if location is not None:
        window = rules.doc.merge.window_for(category.id)
        dup = find_duplicate(primaries, category.id, location.lon, location.lat, report.received_at, window)
        if dup is not None:
            reason = (
                f"same category {category.id} {category.name} {dup.distance_m:.0f} m from report "
                f"{dup.primary.report_id} (case {dup.primary.case_id or 'being filed'}), within "
                f"{window.radius_m:g} m and {window.window_hours:g} h"
            )
            merged = ReportMerged(
                report_id=report.report_id,
                primary_report_id=dup.primary.report_id,
                report=routed_report(report),
                distance_m=round(dup.distance_m, 1),
                reason=reason,
                deadline_profile=_own_profile(analysis, ref, rules),
                hotline_class=report.hotline_class if report.channel.value == "hotline" else None,
            )
            return Decision("merged", merged, analysis, "merge", rules.version, reason)

    facts = analysis.facts()
    matched = rules.first_match(facts)
    rule, why = matched if matched else (None, [])
    rule_id = rule.id if rule else DEFAULT_RULE_ID
    if rule is not None and rule.then.manual:
        return manual(f"rule {rule.id}: {rule.description} ({'; '.join(why)})", rule.id)

    department, dept_how = _department(analysis, ref, rules, rule)
    if department is None:
        return manual(f"no department can take it: {dept_how}", rule_id)
    level, level_unit, department, level_how = _level(analysis, ref, rule, department)
    priority, profile = _priority_and_profile(analysis, ref, rule)
    whistle = bool(rule and rule.then.whistle)
    street = located.grid.street_code
    whistle_departments = _whistle_departments(rule, street, ref, rules, department) if whistle else []

    head = f"rule {rule.id}: {rule.description} ({'; '.join(why)})" if rule else "no rule matched: taxonomy defaults"
    reason = (
        f"{head}; {c.explain()}; located by {located.method} ({located.detail}); "
        f"department {dept_how}; {f'{level_how}; ' if level_how else ''}profile {profile}"
    )
    body = RoutingDecided(
        report_id=report.report_id,
        report=routed_report(report),
        category=category.ref(),
        category_kind=category.kind,
        classification_confidence=min(1.0, max(0.0, c.confidence)),
        location=location,
        grid=located.grid,
        department_code=department,
        priority=priority,
        deadline_profile=profile,
        whistle=whistle,
        whistle_departments=whistle_departments,
        rule=RuleRef(rule_id=rule_id, ruleset_version=rules.version, reason=reason),
        level=level,
        level_unit=level_unit,
    )
    return Decision("routed", body, analysis, rule_id, rules.version, reason)


def route(
    report: ReportReceived, ref: ReferenceData, rules: RuleSet, primaries: PrimaryLookup, now: datetime
) -> Decision:
    return decide(analyse(report, ref, rules, now), ref, rules, primaries)


def routed_report(report: ReportReceived) -> RoutedReport:
    return RoutedReport(
        channel=report.channel,
        external_id=report.external_id,
        reporter=report.reporter,
        text=report.text,
        photos=report.photos,
        address=report.place.address,
        received_at=report.received_at,
        occurred_at=report.occurred_at,
    )


def _ref(ref: ReferenceData, category_id: str) -> CategoryRef:
    return ref.taxonomy.get(category_id).ref()


def _department(analysis: Analysis, ref: ReferenceData, rules: RuleSet, rule: Rule | None) -> tuple[str | None, str]:
    street = analysis.located.grid.street_code
    fallbacks = rules.doc.department_fallbacks
    if rule is not None and rule.then.department:
        return rule.then.department, f"{rule.then.department} named by the rule"
    if rule is not None and rule.then.department_kind:
        dept, how = ref.departments.resolve(rule.then.department_kind, street, fallbacks)
        return (dept.code if dept else None), how
    report = analysis.report
    device = str(report.attributes.get("device_id") or "") if report.channel.value == "iot" else ""
    owner = ref.device_owners.get(device)
    if owner and owner in ref.departments:
        return owner, f"{owner} owns device {device}"
    assert analysis.category is not None
    dept, how = ref.departments.resolve(analysis.category.department_kind, street, fallbacks)
    return (dept.code if dept else None), how


def _own_profile(analysis: Analysis, ref: ReferenceData, rules: RuleSet) -> str:
    """The deadline profile the report would have had on its own: a merged caller keeps what it is owed
    (a complex 12345 ticket its 15 days) whatever the case it joins."""
    matched = rules.first_match(analysis.facts())
    return _priority_and_profile(analysis, ref, matched[0] if matched else None)[1]


def _priority_and_profile(
    analysis: Analysis, ref: ReferenceData, rule: Rule | None
) -> tuple[Literal["normal", "high", "urgent"], str]:
    """The one place a report's priority and deadline profile are decided: the rule's, else the defaults."""
    report, category = analysis.report, analysis.category
    assert category is not None
    priority = (rule.then.priority if rule else None) or _default_priority(report, category)
    profile = (rule.then.deadline_profile if rule else None) or _default_profile(ref, report, category, priority)
    return priority, profile


Level = Literal["district", "street", "community"]


def _level(
    analysis: Analysis, ref: ReferenceData, rule: Rule | None, department: str
) -> tuple[Level, str | None, str, str]:
    """The handling level a rule chose, its place and the unit serving it there: a community's grid workers, or
    a street's stationed unit of the work's kind (else any unit stationed in the street). A level with no unit
    in that place leaves the case with the district, and the reason says so."""
    wanted: Level = (rule.then.level if rule else None) or "district"
    if wanted == "district":
        return "district", None, department, ""
    grid = analysis.located.grid
    place = grid.community_code if wanted == "community" else grid.street_code
    assert rule is not None and analysis.category is not None
    if rule.then.department:
        return wanted, place, department, f"level {wanted} {place}, by the department the rule names"
    kind = rule.then.department_kind or (analysis.category.department_kind if wanted == "street" else None)
    unit = ref.departments.at_level(wanted, kind, place) or ref.departments.at_level(wanted, None, place)
    if place is None or unit is None:
        return "district", None, department, f"level district: no {wanted}-level unit serves {place}"
    return wanted, place, unit.code, f"level {wanted} {place}: {unit.code} serves it there"


def _default_priority(report: ReportReceived, category: MinorClass) -> Literal["normal", "high", "urgent"]:
    """What the report asks for (urgent, or its severity), within the levels its category knows."""
    wanted = 0
    if report.urgency == "urgent" or report.severity == "critical":
        wanted = 2
    elif report.severity == "major":
        wanted = 1
    levels = sorted(PRIORITY_ORDER.index(level) for level in category.urgency_levels)
    fitting = [level for level in levels if level <= wanted]
    return PRIORITY_ORDER[fitting[-1] if fitting else levels[0]]


def _default_profile(ref: ReferenceData, report: ReportReceived, category: MinorClass, priority: str) -> str:
    if priority == "urgent" and "urgent" in ref.taxonomy.urgency_profiles:
        return ref.taxonomy.urgency_profiles["urgent"]
    if report.channel.value == "hotline" and report.hotline_class:
        return f"1515-{report.hotline_class}"
    return category.deadline_profile


def _whistle_departments(
    rule: Rule | None, street: str | None, ref: ReferenceData, rules: RuleSet, main: str
) -> list[str]:
    assert rule is not None
    out: list[str] = []
    for code in rule.then.whistle_departments:
        if code not in out and code != main:
            out.append(code)
    for kind in rule.then.whistle_department_kinds:
        dept, _ = ref.departments.resolve(kind, street, rules.doc.department_fallbacks)
        if dept is not None and dept.code not in out and dept.code != main:
            out.append(dept.code)
    return out
