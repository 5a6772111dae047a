"""Declarative routing rules: a YAML document validated on load, evaluated first-match by explicit precedence.

A rule `when` matches on category, place (street, community, cell), channel, time (night, holiday),
keywords, severity, urgency and the 12345 class; its `then` yields department, priority, deadline profile,
handling level, whistle or manual dispatch. Rules are tried from the highest `precedence` down (precedences
are unique, so the order never depends on file order); the first that matches decides, and what it leaves open
comes from the category's defaults in the taxonomy. No match: the taxonomy defaults alone (`rule_id: taxonomy-default`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from router.yamlines import Problem, YamlFileError, as_mapping, dotted, load
from shared.contracts.common import Channel
from shared.departments import DepartmentDirectory
from shared.taxonomy import Taxonomy

Priority = Literal["normal", "high", "urgent"]
Severity = Literal["info", "minor", "major", "critical"]
SEVERITY_ORDER: dict[str, int] = {"info": 0, "minor": 1, "major": 2, "critical": 3}
DEFAULT_RULE_ID = "taxonomy-default"


@dataclass(frozen=True)
class RuleContext:
    """Reference data rules are checked against: every category, department and profile they name must exist."""

    taxonomy: Taxonomy
    departments: DepartmentDirectory


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _ctx(info: ValidationInfo) -> RuleContext | None:
    ctx = info.context
    return ctx if isinstance(ctx, RuleContext) else None


def category_matches(pattern: str, category_id: str) -> bool:
    """`C0101` exactly, `C01*` a major class, `I*` a kind, `*` everything."""
    return fnmatch.fnmatchcase(category_id, pattern)


class When(_Strict):
    categories: tuple[str, ...] = ()
    kinds: tuple[Literal["component", "incident"], ...] = ()
    streets: tuple[str, ...] = ()
    communities: tuple[str, ...] = ()
    cells: tuple[str, ...] = ()
    channels: tuple[Channel, ...] = ()
    night: bool | None = None
    holiday: bool | None = Field(default=None, description="true: a day off (weekend or public holiday)")
    keywords_any: tuple[str, ...] = ()
    severity_at_least: Severity | None = None
    urgency: Literal["normal", "urgent"] | None = None
    hotline_class: Literal["general", "complex"] | None = None

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        ctx = _ctx(info)
        if ctx is not None:
            for pattern in value:
                if not any(category_matches(pattern, c.id) for c in ctx.taxonomy):
                    raise ValueError(f"{pattern!r} matches no taxonomy category (ids look like C0101, I0502, C01*)")
        return value

    @field_validator("keywords_any")
    @classmethod
    def _non_empty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not k.strip() for k in value):
            raise ValueError("keywords must not be empty")
        return value


class Then(_Strict):
    department: str | None = None
    department_kind: str | None = None
    priority: Priority | None = None
    deadline_profile: str | None = None
    whistle: bool = False
    whistle_department_kinds: tuple[str, ...] = ()
    whistle_departments: tuple[str, ...] = ()
    manual: bool = Field(default=False, description="send to the dispatchers' queue instead of deciding")
    level: Literal["district", "street", "community"] | None = Field(
        default=None,
        description="handling level (分级分层处置): community → its grid workers, street → a unit stationed there",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.department and self.department_kind:
            raise ValueError("give department or department_kind, not both")
        if (self.whistle_department_kinds or self.whistle_departments) and not self.whistle:
            raise ValueError("whistle departments given but whistle is not true")
        if self.manual and (self.department or self.department_kind or self.whistle or self.level):
            raise ValueError(
                "a manual rule sends the report to the dispatchers; it names no department, whistle or level"
            )
        return self

    @field_validator("department", "whistle_departments")
    @classmethod
    def _known_department(cls, value: Any, info: ValidationInfo) -> Any:
        ctx = _ctx(info)
        codes = [value] if isinstance(value, str) else list(value or ())
        if ctx is not None:
            for code in codes:
                if code not in ctx.departments:
                    raise ValueError(f"unknown department {code!r}")
        return value

    @field_validator("deadline_profile")
    @classmethod
    def _known_profile(cls, value: str | None, info: ValidationInfo) -> str | None:
        ctx = _ctx(info)
        if ctx is not None and value is not None and value not in ctx.taxonomy.profiles:
            raise ValueError(f"unknown deadline profile {value!r}; known: {', '.join(sorted(ctx.taxonomy.profiles))}")
        return value


class Rule(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    precedence: int = Field(ge=0, le=1_000_000)
    description: str = Field(min_length=3, description="the reason recorded with every decision it makes")
    when: When = When()
    then: Then


class MergeWindow(_Strict):
    radius_m: float = Field(ge=0, le=5000)
    window_hours: float = Field(gt=0, le=24 * 366)


class MergeOverride(MergeWindow):
    categories: tuple[str, ...] = Field(min_length=1)


class MergePolicy(_Strict):
    """并案: a report joins an open case of the same category within radius and time window."""

    default: MergeWindow = MergeWindow(radius_m=30, window_hours=72)
    overrides: tuple[MergeOverride, ...] = ()

    def window_for(self, category_id: str) -> MergeWindow:
        """The most specific override naming the category (an exact id beats `C01*`), else the default."""
        best: tuple[int, MergeWindow] | None = None
        for override in self.overrides:
            for pattern in override.categories:
                if category_matches(pattern, category_id):
                    specificity = len(pattern.rstrip("*")) + (100 if "*" not in pattern else 0)
                    if best is None or specificity > best[0]:
                        best = (specificity, override)
        return best[1] if best else self.default


class NightWindow(_Strict):
    start: time = time(22, 0)
    end: time = time(6, 0)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _quoted(cls, value: Any) -> Any:
        if isinstance(value, int | float):
            # YAML 1.1 reads an unquoted 22:00 as the base-60 number 1320.
            raise ValueError("write the time in quotes, e.g. '22:00'")
        return value

    def contains(self, t: time) -> bool:
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


class RuleSetDoc(_Strict):
    name: str = Field(min_length=1)
    classification_threshold: float = Field(default=0.5, ge=0, le=1)
    """Below this confidence a report goes to the dispatchers' queue rather than being guessed."""
    hint_confidence: float = Field(default=0.7, ge=0, le=1)
    """Confidence given to a category mapped from a channel's own code (12345 leaf, video algorithm)."""
    night: NightWindow = NightWindow()
    department_fallbacks: dict[str, str] = Field(default_factory=dict)
    merge: MergePolicy = MergePolicy()
    rules: tuple[Rule, ...] = ()


def _cross_checks(doc: RuleSetDoc, ctx: RuleContext | None) -> list[tuple[tuple[Any, ...], str]]:
    """Problems no single field shows, each with the path of the part to fix."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    for attr in ("id", "precedence"):
        seen: dict[Any, str] = {}
        for i, rule in enumerate(doc.rules):
            value = getattr(rule, attr)
            if value in seen:
                problems.append((("rules", i, attr), f"rules {seen[value]!r} and {rule.id!r} have the same {attr}"))
            seen.setdefault(value, rule.id)
    if ctx is not None:
        have = ctx.departments.kinds()
        for i, rule in enumerate(doc.rules):
            for attr in ("department_kind", "whistle_department_kinds"):
                value = getattr(rule.then, attr)
                for kind in [value] if isinstance(value, str) else list(value or ()):
                    if not _resolvable(kind, have, doc.department_fallbacks):
                        problems.append(
                            (
                                ("rules", i, "then", attr),
                                f"no department of kind {kind!r} and no department_fallbacks entry for it",
                            )
                        )
        for i, override in enumerate(doc.merge.overrides):
            for pattern in override.categories:
                if not any(category_matches(pattern, c.id) for c in ctx.taxonomy):
                    problems.append((("merge", "overrides", i, "categories"), f"{pattern!r} matches no category"))
    return problems


def _resolvable(kind: str, have: set[str], fallbacks: dict[str, str]) -> bool:
    seen: set[str] = set()
    current: str | None = kind
    while current is not None and current not in seen:
        if current in have:
            return True
        seen.add(current)
        current = fallbacks.get(current)
    return False


@dataclass(frozen=True)
class Facts:
    """What rules can see of a report once it is classified and located."""

    category_id: str
    kind: str
    street_code: str | None
    community_code: str | None
    cell_code: str | None
    channel: str
    night: bool
    holiday: bool
    text: str
    severity: str | None
    urgency: str
    hotline_class: str | None


def match(rule: Rule, facts: Facts) -> list[str] | None:
    """Why the rule matches (one phrase per condition), or None if a condition fails."""
    w = rule.when
    why: list[str] = []

    def check(ok: bool, reason: str) -> bool:
        if ok:
            why.append(reason)
        return ok

    conditions = (
        (
            not w.categories
            or check(
                any(category_matches(p, facts.category_id) for p in w.categories),
                f"category {facts.category_id} in {list(w.categories)}",
            )
        ),
        (not w.kinds or check(facts.kind in w.kinds, f"kind {facts.kind}")),
        (not w.streets or check(facts.street_code in w.streets, f"street {facts.street_code}")),
        (not w.communities or check(facts.community_code in w.communities, f"community {facts.community_code}")),
        (not w.cells or check(facts.cell_code in w.cells, f"cell {facts.cell_code}")),
        (not w.channels or check(facts.channel in w.channels, f"channel {facts.channel}")),
        (w.night is None or check(facts.night == w.night, "at night" if w.night else "by day")),
        (w.holiday is None or check(facts.holiday == w.holiday, "on a day off" if w.holiday else "on a working day")),
        (
            not w.keywords_any
            or check(
                any(k in facts.text for k in w.keywords_any),
                f"text mentions {[k for k in w.keywords_any if k in facts.text]}",
            )
        ),
        (
            w.severity_at_least is None
            or check(
                facts.severity is not None and SEVERITY_ORDER[facts.severity] >= SEVERITY_ORDER[w.severity_at_least],
                f"severity {facts.severity}",
            )
        ),
        (w.urgency is None or check(facts.urgency == w.urgency, f"urgency {facts.urgency}")),
        (
            w.hotline_class is None
            or check(facts.hotline_class == w.hotline_class, f"12345 class {facts.hotline_class}")
        ),
    )
    return why if all(conditions) else None


class RuleSet:
    """A validated rule document with its version; `first_match` is the whole precedence logic."""

    def __init__(self, doc: RuleSetDoc, version: int, text: str) -> None:
        self.doc = doc
        self.version = version
        self.text = text
        self.ordered: tuple[Rule, ...] = tuple(sorted(doc.rules, key=lambda r: -r.precedence))

    def first_match(self, facts: Facts) -> tuple[Rule, list[str]] | None:
        for rule in self.ordered:
            why = match(rule, facts)
            if why is not None:
                return rule, why
        return None


def parse_rules(text: str, source: str, context: RuleContext | None, version: int = 0) -> RuleSet:
    """Parse and validate a rule document; YamlFileError names file, line, field and reason for each problem."""
    doc = load(text, source)
    try:
        parsed = RuleSetDoc.model_validate(as_mapping(doc), context=context)
    except ValidationError as exc:
        raise YamlFileError(doc.problems(exc)) from exc
    problems = _cross_checks(parsed, context)
    if problems:
        raise YamlFileError(Problem(source, doc.line_of(path), dotted(path), reason) for path, reason in problems)
    return RuleSet(parsed, version, text)


def rule_summaries(rules: Sequence[Rule]) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json", exclude_defaults=True) for r in rules]
