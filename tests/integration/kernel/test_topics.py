"""Topics created on a real broker keep their events for good, so that a rebuild by replay sees all of them."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.bus.kafka import KafkaBus
from shared.bus.topics import platform_topics
from shared.contracts import TOPICS, dlq_topic


async def test_every_event_topic_and_its_dead_letters_are_kept_forever(kafka_bootstrap: str) -> None:
    bus = KafkaBus(kafka_bootstrap)
    await bus.ensure_topics(platform_topics())
    names = [*TOPICS, *(dlq_topic(t) for t in TOPICS)]
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in names])
    finally:
        await admin.close()
    retention = {
        resource[3]: {entry[0]: entry[1] for entry in resource[4]}["retention.ms"]
        for response in responses
        for resource in response.resources
    }
    assert retention == dict.fromkeys(names, "-1")
