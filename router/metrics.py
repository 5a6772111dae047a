"""Router's own Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DECISIONS = Counter(
    "cityloop_router_decisions_total", "Routing decisions by outcome and the rule that made them", ["outcome", "rule"]
)
ROUTE_SECONDS = Histogram(
    "cityloop_router_route_seconds",
    "Time to classify, locate, merge and apply rules to one report (in-process, without the database)",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1),
)
RULESET_VERSION = Gauge("cityloop_router_ruleset_version", "Version of the routing rule set in force")
