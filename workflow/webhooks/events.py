"""Which bus events an integrator can subscribe to, by short name, and what a subscription filter sees of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EVENT_TYPES: dict[str, str] = {
    "case.filed": "cityloop.case.filed.v1",
    "case.dispatched": "cityloop.case.dispatched.v1",
    "case.handled": "cityloop.case.handled.v1",
    "case.closed": "cityloop.case.closed.v1",
    "case.reopened": "cityloop.case.reopened.v1",
    "case.returned": "cityloop.case.returned.v1",
    "case.escalated": "cityloop.case.escalated.v1",
    "report.queued": "cityloop.routing.manual.v1",
    "report.merged": "cityloop.routing.merged.v1",
}
"""Short name → CloudEvent type. The delivered body is the CloudEvent itself, so its `type` says which."""
KIND_OF = {v: k for k, v in EVENT_TYPES.items()}


@dataclass(frozen=True)
class Facts:
    """What the filters of a subscription compare: every department the event concerns, street, channel."""

    departments: frozenset[str]
    street_code: str | None
    channel: str | None


def case_departments(data: dict[str, Any]) -> frozenset[str]:
    """The case's department after the event, plus the one it left (a return) or was escalated to."""
    found = {data.get("department_code"), data.get("from_department"), data.get("escalated_to")}
    return frozenset(d for d in found if d)


def report_facts(data: dict[str, Any]) -> Facts:
    """Routing events carry their report (merged) or grid (queued) themselves."""
    report = data.get("report") or {}
    grid = data.get("grid") or {}
    return Facts(
        frozenset({data["department_code"]} if data.get("department_code") else ()),
        grid.get("street_code"),
        report.get("channel"),
    )


def matches(sub: Any, facts: Facts) -> bool:
    """A filter that is set must match; an unset filter lets everything through."""
    if sub.department_code and sub.department_code not in facts.departments:
        return False
    if sub.street_code and sub.street_code != facts.street_code:
        return False
    return not (sub.channel and sub.channel != facts.channel)
