"""One suite for the bus port, run against Kafka and the in-process (PostgreSQL-backed) bus alike."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator

import pytest

from shared.bus.base import Bus, InMessage, OutMessage, Subscriber, TopicSpec
from shared.bus.consumer import ConsumerLoop
from shared.bus.kafka import KafkaBus
from shared.bus.local import LocalBus
from shared.contracts import dlq_topic
from shared.db.engine import create_engine

pytestmark = pytest.mark.kafka


@pytest.fixture(params=["local", "kafka"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    if request.param == "kafka":
        kafka = KafkaBus(request.getfixturevalue("kafka_bootstrap"))
        await kafka.start()
        yield kafka
        await kafka.stop()
    else:
        engine = create_engine(request.getfixturevalue("pg_url"))
        local = LocalBus(engine)
        await local.start()
        yield local
        await local.stop()
        await engine.dispose()


async def new_topic(bus: Bus, partitions: int = 3) -> str:
    name = f"test.{uuid.uuid4().hex[:10]}"
    await bus.ensure_topics([TopicSpec(name, partitions), TopicSpec(dlq_topic(name), 1)])
    return name


async def poll_until(sub: Subscriber, count: int, timeout_s: float = 30) -> list[InMessage]:
    got: list[InMessage] = []
    deadline = asyncio.get_running_loop().time() + timeout_s
    while len(got) < count and asyncio.get_running_loop().time() < deadline:
        got += await sub.poll(1000, 0.5)
    return got


async def test_messages_of_one_key_arrive_in_publish_order(bus: Bus) -> None:
    topic = await new_topic(bus)
    sent = [OutMessage(topic, f"case-{i % 7}", str(i).encode()) for i in range(300)]
    for chunk in range(0, 300, 50):
        await bus.publish(sent[chunk : chunk + 50])
    sub = bus.subscriber(f"g-{uuid.uuid4().hex[:6]}", [topic])
    await sub.start()
    got = await poll_until(sub, 300)
    await sub.stop()
    assert len(got) == 300
    per_key: dict[str | None, list[int]] = defaultdict(list)
    for m in got:
        per_key[m.key].append(int(m.value))
    assert len(per_key) == 7
    for values in per_key.values():
        assert values == sorted(values)


async def test_uncommitted_messages_are_redelivered_to_the_next_member(bus: Bus) -> None:
    topic = await new_topic(bus, partitions=1)
    await bus.publish([OutMessage(topic, "k", str(i).encode()) for i in range(10)])
    group = f"g-{uuid.uuid4().hex[:6]}"
    first = bus.subscriber(group, [topic])
    await first.start()
    got = await poll_until(first, 10)
    await first.commit(got[:4])  # handled 0..3, crashed before the rest
    await first.stop()
    second = bus.subscriber(group, [topic])
    await second.start()
    again = await poll_until(second, 6)
    await second.stop()
    assert [int(m.value) for m in again] == list(range(4, 10))


async def test_every_group_receives_every_message_and_members_share_one_copy(bus: Bus) -> None:
    topic = await new_topic(bus, partitions=4)
    group_a, group_b = f"a-{uuid.uuid4().hex[:6]}", f"b-{uuid.uuid4().hex[:6]}"
    a1, a2, b1 = bus.subscriber(group_a, [topic]), bus.subscriber(group_a, [topic]), bus.subscriber(group_b, [topic])
    for sub in (a1, a2, b1):
        await sub.start()
    await asyncio.gather(*(s.poll(10, 2.0) for s in (a1, a2, b1)))  # let the group settle its assignment
    await bus.publish([OutMessage(topic, f"k{i}", str(i).encode()) for i in range(200)])
    seen_a: list[int] = []

    async def consume(sub: Subscriber) -> None:
        deadline = asyncio.get_running_loop().time() + 30
        while len(seen_a) < 200 and asyncio.get_running_loop().time() < deadline:
            batch = await sub.poll(100, 0.3)
            seen_a.extend(int(m.value) for m in batch)
            await sub.commit(batch)

    await asyncio.gather(consume(a1), consume(a2))
    seen_b = [int(m.value) for m in await poll_until(b1, 200)]
    for sub in (a1, a2, b1):
        await sub.stop()
    assert sorted(seen_a) == list(range(200)), "each message once within a group"
    assert sorted(seen_b) == list(range(200)), "every group gets everything"


async def test_failing_handler_lands_on_dlq_with_error_and_consumer_goes_on(bus: Bus) -> None:
    topic = await new_topic(bus, partitions=1)
    await bus.publish([OutMessage(topic, "k", v) for v in (b"ok-1", b"poison", b"ok-2")])
    handled: list[bytes] = []
    attempts = 0

    async def handle(messages: list[InMessage]) -> None:
        nonlocal attempts
        if any(m.value == b"poison" for m in messages):
            attempts += 1
            raise ValueError("cannot handle poison")
        handled.extend(m.value for m in messages)

    group = f"g-{uuid.uuid4().hex[:6]}"
    loop = ConsumerLoop(bus, group, [topic], handle, service="test", max_attempts=3, retry_backoff_s=0.01)
    task = asyncio.create_task(loop.run())
    deadline = asyncio.get_running_loop().time() + 30
    while b"ok-2" not in handled and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
    loop.stop()
    await task
    assert handled == [b"ok-1", b"ok-2"]
    assert attempts == 1 + 3  # the failed batch, then three tries alone
    dead = await bus.read_topic(dlq_topic(topic))
    assert [m.value for m in dead] == [b"poison"]
    assert b"cannot handle poison" in (dead[0].header("dlq.error") or b"")
    assert dead[0].header("dlq.attempts") == b"3"
    assert await bus.group_lag(group, [topic]) == 0


async def test_database_outage_delays_a_message_but_never_dead_letters_it(bus: Bus) -> None:
    topic = await new_topic(bus, partitions=1)
    await bus.publish([OutMessage(topic, "k", b"during-outage")])
    outage_left = 8  # more failures than max_attempts: only infrastructure errors may exceed it
    handled: list[bytes] = []

    async def handle(messages: list[InMessage]) -> None:
        nonlocal outage_left
        if outage_left:
            outage_left -= 1
            raise ConnectionRefusedError(111, "Connection refused")
        handled.extend(m.value for m in messages)

    loop = ConsumerLoop(bus, f"g-{uuid.uuid4().hex[:6]}", [topic], handle, service="test", max_attempts=3)
    task = asyncio.create_task(loop.run())
    deadline = asyncio.get_running_loop().time() + 60
    while not handled and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
    loop.stop()
    await task
    assert handled == [b"during-outage"]
    assert await bus.read_topic(dlq_topic(topic)) == []


async def test_a_lingering_subscriber_hands_over_what_arrived_during_its_linger_with_that_batch(bus: Bus) -> None:
    """Lingering trades a bounded wait for bigger batches: a message published while the subscriber lingers
    reaches the consumer within about one linger, never a whole further cycle later."""
    topic = await new_topic(bus)
    linger_s, SENT = 0.3, 200
    sub = bus.subscriber(f"g-{uuid.uuid4().hex[:6]}", [topic], linger_s=linger_s)
    await sub.start()
    await bus.publish([OutMessage(topic, "warm-up", b"-1")])
    assert await poll_until(sub, 1)  # the group is joined and the partitions assigned
    loop = asyncio.get_running_loop()
    sent_at: dict[bytes, float] = {}

    async def publish_steadily() -> None:
        for i in range(SENT):  # 100 a second on three partitions, as a busy consumer sees them
            value = str(i).encode()
            sent_at[value] = loop.time()
            await bus.publish([OutMessage(topic, f"case-{i}", value)])
            await asyncio.sleep(0.01)

    publisher = asyncio.create_task(publish_steadily())
    waited: list[float] = []
    deadline = loop.time() + 30
    while len(waited) < SENT and loop.time() < deadline:
        for message in await sub.poll(1000, 0.5):
            waited.append(loop.time() - sent_at[message.value])
    await publisher
    await sub.stop()
    assert len(waited) == SENT
    waited.sort()
    assert waited[int(0.9 * len(waited))] < 1.3 * linger_s, waited
