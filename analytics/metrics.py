"""Counters analytics derives from the events it folds (exported on /metrics like every service's).

They count events as folded, so a replay counts again: use them for rates on the live boards; the
read models, not these counters, are the record.
"""

from __future__ import annotations

from prometheus_client import Counter

REPORTS = Counter(
    "cityloop_analytics_reports_total", "Reports received, by channel (from reports.received.v1)", ["channel"]
)
CASES_FILED = Counter("cityloop_analytics_cases_filed_total", "Cases filed, by channel (from cases.v1)", ["channel"])
CASES_CLOSED = Counter(
    "cityloop_analytics_cases_closed_total", "Case closures, by department (from cases.v1)", ["department"]
)
ESCALATIONS = Counter("cityloop_analytics_escalations_total", "Supervision escalations (督办), by level", ["level"])
