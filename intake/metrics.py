"""Intake's domain metrics."""

from __future__ import annotations

from prometheus_client import Counter

ANSWERS = Counter(
    "cityloop_intake_answers_total",
    "What intake answered each channel: accepted, duplicate, repeated, recovered, ignored, updated",
    ["channel", "status"],
)
WECHAT_DRAFTS_FILED = Counter(
    "cityloop_intake_wechat_drafts_filed_total", "WeChat drafts filed as reports", ["filed_by"]
)
REPORT_PROBES = Counter(
    "cityloop_intake_report_probes_total",
    "Callers refused (429) after too many report/photo lookups that found nothing: someone guessing ids",
    ["role"],
)
