"""Prometheus metrics every service exports; the `service` label tells processes apart in `run all`."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_LATENCY = Histogram(
    "cityloop_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_CONSUMED = Counter("cityloop_events_consumed_total", "Bus messages handled", ["service", "topic", "outcome"])
EVENTS_PRODUCED = Counter("cityloop_events_produced_total", "Events published from the outbox", ["service", "topic"])
HANDLER_LATENCY = Histogram(
    "cityloop_handler_duration_seconds",
    "Time to handle one batch of bus messages",
    ["service", "topic"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
)
CONSUMER_LAG = Gauge("cityloop_consumer_lag", "Messages not yet consumed", ["service", "group", "topic", "partition"])
OUTBOX_BACKLOG = Gauge("cityloop_outbox_backlog", "Outbox rows waiting to be published", ["service"])
DLQ_MESSAGES = Counter("cityloop_dlq_messages_total", "Messages sent to a dead-letter topic", ["service", "topic"])
SHED_REQUESTS = Counter(
    "cityloop_http_shed_total", "Writing requests refused with 503 because too many were already running", ["service"]
)
