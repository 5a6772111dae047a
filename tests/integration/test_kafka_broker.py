"""The development broker (deploy/kafka/kafka.sh) serves what the bus needs: idempotent produce, groups, restarts."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests.support.kafka import KafkaBroker, create_topics

pytestmark = pytest.mark.asyncio


async def _produce(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in messages]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _consume(bootstrap: str, topic: str, group: str, count: int) -> list[tuple[bytes, bytes]]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        got: list[tuple[bytes, bytes]] = []
        async with asyncio.timeout(30):
            while len(got) < count:
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    got += [(r.key, r.value) for r in records]
        await consumer.commit()
        return got
    finally:
        await consumer.stop()


def _messages(n: int) -> list[tuple[bytes, bytes]]:
    return [(f"case-{i % 7}".encode(), f"event-{i}".encode()) for i in range(n)]


async def test_idempotent_acks_all_round_trip_keeps_per_key_order(kafka_bootstrap: str) -> None:
    topic, group = f"t-{uuid.uuid4().hex}", f"g-{uuid.uuid4().hex}"
    await create_topics(kafka_bootstrap, {topic: 3})
    await create_topics(kafka_bootstrap, {topic: 3})  # idempotent
    sent = _messages(200)

    await _produce(kafka_bootstrap, topic, sent)
    got = await _consume(kafka_bootstrap, topic, group, len(sent))

    assert sorted(got) == sorted(sent)
    for key in {k for k, _ in sent}:
        assert [v for k, v in got if k == key] == [v for k, v in sent if k == key]


async def test_killed_broker_restarts_with_its_data_and_committed_offsets() -> None:
    topic, group = "restart-check", "restart-group"
    with KafkaBroker() as broker:
        await _produce(broker.bootstrap, topic, _messages(10))
        assert len(await _consume(broker.bootstrap, topic, group, 10)) == 10

        bootstrap = broker.bootstrap
        await asyncio.to_thread(broker.kill)
        assert await asyncio.to_thread(broker.restart) == bootstrap

        await _produce(broker.bootstrap, topic, [(b"case-0", b"after-restart")])
        assert await _consume(broker.bootstrap, topic, group, 1) == [(b"case-0", b"after-restart")]
