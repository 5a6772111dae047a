"""The platform's topics as the bus should create them."""

from __future__ import annotations

from shared.bus.base import TopicSpec
from shared.contracts import TOPICS, dlq_topic

KEPT_FOREVER = {"retention.ms": "-1"}
"""Event topics are the city's record: read models are rebuilt by replaying them from offset zero, so Kafka's
default seven-day retention would silently cut every rebuild short."""


def platform_topics(partitions: int = 6) -> list[TopicSpec]:
    """Every contract topic and its dead-letter topic."""
    return [TopicSpec(t, partitions, dict(KEPT_FOREVER)) for t in TOPICS] + [
        TopicSpec(dlq_topic(t), 1, dict(KEPT_FOREVER)) for t in TOPICS
    ]
