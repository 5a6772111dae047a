"""Prometheus metrics of the workflow: the timer backlog, parked events and the open cases by state."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

TIMERS_PENDING = Gauge("cityloop_timers_pending", "Running clocks' next steps not yet fired (due or not)")
TIMERS_OVERDUE = Gauge("cityloop_timers_overdue", "Deadline timers past their due time and not yet fired")
TIMERS_FIRED = Counter("cityloop_timers_fired_total", "Deadline timers fired")
PARKED_EVENTS = Gauge(
    "cityloop_workflow_parked_events", "Merges and report updates waiting for a case that does not exist (yet)"
)
PARKED_OLDEST = Gauge(
    "cityloop_workflow_parked_oldest_seconds",
    "City-clock age of the oldest parked event (0 when none): a growing value needs a look",
)
CASES_OPEN = Gauge("cityloop_cases_open", "Cases not closed or withdrawn", ["state"])
