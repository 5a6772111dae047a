"""The in-process bus: the same log semantics as Kafka, kept in PostgreSQL so a crash loses nothing.

Used by `cityloop run all` and its tests. Partitions get offsets under a row lock, so readers never
see a gap that later fills; a group member owns a partition through a session advisory lock, which
PostgreSQL drops when the member's connection dies, so a killed process hands its partitions over.
"""

from __future__ import annotations

import asyncio
import zlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.bus.base import Bus, InMessage, OutMessage, Subscriber, TopicSpec, linger_for, partition_for

DEFAULT_PARTITIONS = 3
_DDL = """
CREATE SCHEMA IF NOT EXISTS bus;
CREATE TABLE IF NOT EXISTS bus.partitions (
    topic text NOT NULL, partition int NOT NULL, next_offset bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (topic, partition));
CREATE TABLE IF NOT EXISTS bus.records (
    topic text NOT NULL, partition int NOT NULL, "offset" bigint NOT NULL, key text, value bytea NOT NULL,
    headers jsonb NOT NULL DEFAULT '[]', ts timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition, "offset"));
CREATE TABLE IF NOT EXISTS bus.group_offsets (
    group_id text NOT NULL, topic text NOT NULL, partition int NOT NULL, committed bigint NOT NULL,
    PRIMARY KEY (group_id, topic, partition));
"""


def _lock_id(group: str, topic: str, partition: int) -> int:
    return zlib.crc32(f"cityloop-bus|{group}|{topic}|{partition}".encode()) - 2**31


class LocalBus(Bus):
    def __init__(self, engine: AsyncEngine, default_partitions: int = DEFAULT_PARTITIONS) -> None:
        self.engine = engine
        self.default_partitions = default_partitions
        self._partitions: dict[str, int] = {}
        self._wakeup = asyncio.Event()

    async def start(self) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(4242)"))
            for statement in filter(str.strip, _DDL.split(";")):
                await conn.execute(text(statement))

    async def stop(self) -> None:
        self._wakeup.set()

    async def ensure_topics(self, topics: Sequence[TopicSpec]) -> None:
        async with self.engine.begin() as conn:
            for spec in topics:
                await self._create(conn, spec.name, spec.partitions)

    async def _create(self, conn: AsyncConnection, topic: str, partitions: int) -> None:
        await conn.execute(
            text(
                "INSERT INTO bus.partitions (topic, partition) SELECT :t, p FROM generate_series(0, :n - 1) p "
                "ON CONFLICT DO NOTHING"
            ),
            {"t": topic, "n": partitions},
        )

    async def partitions(self, conn: AsyncConnection, topic: str) -> int:
        if topic not in self._partitions:
            count = (
                await conn.execute(text("SELECT count(*) FROM bus.partitions WHERE topic = :t"), {"t": topic})
            ).scalar_one()
            if not count:
                await self._create(conn, topic, self.default_partitions)
                count = (
                    await conn.execute(text("SELECT count(*) FROM bus.partitions WHERE topic = :t"), {"t": topic})
                ).scalar_one()
            self._partitions[topic] = int(count)
        return self._partitions[topic]

    async def publish(self, messages: Sequence[OutMessage]) -> None:
        if not messages:
            return
        async with self.engine.begin() as conn:
            grouped: dict[tuple[str, int], list[OutMessage]] = defaultdict(list)
            for m in messages:
                grouped[(m.topic, partition_for(m.key, await self.partitions(conn, m.topic)))].append(m)
            rows = []
            for (topic, partition), batch in sorted(grouped.items()):
                end = (
                    await conn.execute(
                        text(
                            "UPDATE bus.partitions SET next_offset = next_offset + :n "
                            "WHERE topic = :t AND partition = :p RETURNING next_offset"
                        ),
                        {"n": len(batch), "t": topic, "p": partition},
                    )
                ).scalar_one()
                start = end - len(batch)
                rows += [
                    {
                        "t": topic,
                        "p": partition,
                        "o": start + i,
                        "k": m.key,
                        "v": m.value,
                        "h": orjson.dumps([[k, v.decode("latin-1")] for k, v in m.headers]).decode(),
                    }
                    for i, m in enumerate(batch)
                ]
            await conn.execute(
                text(
                    'INSERT INTO bus.records (topic, partition, "offset", key, value, headers) '
                    "VALUES (:t, :p, :o, :k, :v, CAST(:h AS jsonb))"
                ),
                rows,
            )
        self._wakeup.set()

    def subscriber(self, group: str, topics: Sequence[str], *, linger_s: float = 0.0) -> Subscriber:
        return LocalSubscriber(self, group, list(topics), linger_s)

    async def wait(self, timeout_s: float) -> None:
        self._wakeup.clear()
        try:
            await asyncio.wait_for(self._wakeup.wait(), timeout_s)
        except TimeoutError:
            pass

    async def group_lag(self, group: str, topics: Sequence[str]) -> int:
        async with self.engine.connect() as conn:
            lag = await conn.execute(
                text(
                    "SELECT coalesce(sum(p.next_offset - coalesce(g.committed, 0)), 0) FROM bus.partitions p "
                    "LEFT JOIN bus.group_offsets g ON g.group_id = :g AND g.topic = p.topic "
                    "AND g.partition = p.partition WHERE p.topic = ANY(:topics)"
                ),
                {"g": group, "topics": list(topics)},
            )
            return int(lag.scalar_one())

    async def read_topic(self, topic: str) -> list[InMessage]:
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        'SELECT partition, "offset", key, value, headers, ts FROM bus.records WHERE topic = :t '
                        'ORDER BY partition, "offset"'
                    ),
                    {"t": topic},
                )
            ).all()
        return [
            InMessage(
                topic,
                p,
                int(o),
                k,
                bytes(v),
                tuple((hk, hv.encode("latin-1")) for hk, hv in h),
                int(ts.timestamp() * 1000),
            )
            for p, o, k, v, h, ts in rows
        ]

    async def reset_offsets(self, group: str, topic: str, *, to_time: datetime | None = None) -> Mapping[int, int]:
        async with self.engine.begin() as conn:
            result: dict[int, int] = {}
            for partition in range(await self.partitions(conn, topic)):
                if to_time is None:
                    offset = 0
                else:
                    offset = (
                        await conn.execute(
                            text(
                                'SELECT coalesce(min("offset"), (SELECT next_offset FROM bus.partitions '
                                "WHERE topic = :t AND partition = :p)) FROM bus.records "
                                "WHERE topic = :t AND partition = :p AND ts >= :ts"
                            ),
                            {"t": topic, "p": partition, "ts": to_time},
                        )
                    ).scalar_one()
                await conn.execute(
                    text(
                        "INSERT INTO bus.group_offsets VALUES (:g, :t, :p, :o) "
                        "ON CONFLICT (group_id, topic, partition) DO UPDATE SET committed = :o"
                    ),
                    {"g": group, "t": topic, "p": partition, "o": offset},
                )
                result[partition] = int(offset)
            return result


class LocalSubscriber(Subscriber):
    def __init__(self, bus: LocalBus, group: str, topics: list[str], linger_s: float = 0.0) -> None:
        self.bus = bus
        self.linger_s = linger_s
        self.group = group
        self.topics = topics
        self._conn: AsyncConnection | None = None
        self._owned: dict[tuple[str, int], int] = {}
        self._last_claim = 0.0

    async def start(self) -> None:
        self._conn = await self.bus.engine.connect()
        await self._claim()

    async def stop(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.execute(text("SELECT pg_advisory_unlock_all()"))
                await self._conn.commit()
            finally:
                await self._conn.close()
                self._conn = None
        self._owned.clear()

    async def _claim(self) -> None:
        """Take every partition of our topics that no live member of the group holds."""
        assert self._conn is not None
        loop = asyncio.get_running_loop()
        self._last_claim = loop.time()
        for topic in self.topics:
            for partition in range(await self.bus.partitions(self._conn, topic)):
                if (topic, partition) in self._owned:
                    continue
                got = (
                    await self._conn.execute(
                        text("SELECT pg_try_advisory_lock(:id)"), {"id": _lock_id(self.group, topic, partition)}
                    )
                ).scalar_one()
                if got:
                    committed = (
                        await self._conn.execute(
                            text(
                                "SELECT committed FROM bus.group_offsets "
                                "WHERE group_id = :g AND topic = :t AND partition = :p"
                            ),
                            {"g": self.group, "t": topic, "p": partition},
                        )
                    ).scalar_one_or_none()
                    self._owned[(topic, partition)] = int(committed or 0)
        await self._conn.commit()

    async def poll(self, max_records: int, timeout_s: float) -> list[InMessage]:
        assert self._conn is not None
        if asyncio.get_running_loop().time() - self._last_claim > 1.0:
            await self._claim()
        messages = await self._fetch(max_records)
        if not messages:
            await self.bus.wait(min(timeout_s, 0.25))
            messages = await self._fetch(max_records)
        if messages and len(messages) < max_records and self.linger_s > 0:
            await asyncio.sleep(linger_for(len(messages), self.linger_s))
            messages += await self._fetch(max_records - len(messages))
        return messages

    async def _fetch(self, max_records: int) -> list[InMessage]:
        assert self._conn is not None
        out: list[InMessage] = []
        for (topic, partition), position in list(self._owned.items()):
            if len(out) >= max_records:
                break
            rows = (
                await self._conn.execute(
                    text(
                        'SELECT "offset", key, value, headers, ts FROM bus.records '
                        'WHERE topic = :t AND partition = :p AND "offset" >= :o ORDER BY "offset" LIMIT :n'
                    ),
                    {"t": topic, "p": partition, "o": position, "n": max_records - len(out)},
                )
            ).all()
            for offset, key, value, headers, ts in rows:
                out.append(
                    InMessage(
                        topic=topic,
                        partition=partition,
                        offset=int(offset),
                        key=key,
                        value=bytes(value),
                        headers=tuple((k, v.encode("latin-1")) for k, v in headers),
                        timestamp_ms=int(ts.timestamp() * 1000),
                    )
                )
            if rows:
                self._owned[(topic, partition)] = int(rows[-1][0]) + 1
        await self._conn.commit()
        return out

    async def commit(self, messages: Sequence[InMessage]) -> None:
        assert self._conn is not None
        offsets: dict[tuple[str, int], int] = {}
        for m in messages:
            offsets[(m.topic, m.partition)] = max(offsets.get((m.topic, m.partition), 0), m.offset + 1)
        rows = [{"g": self.group, "t": t, "p": p, "o": o} for (t, p), o in offsets.items() if (t, p) in self._owned]
        if not rows:
            return
        await self._conn.execute(
            text(
                "INSERT INTO bus.group_offsets VALUES (:g, :t, :p, :o) "
                "ON CONFLICT (group_id, topic, partition) DO UPDATE SET committed = excluded.committed"
            ),
            rows,
        )
        await self._conn.commit()

    async def lag(self) -> dict[tuple[str, int], int]:
        assert self._conn is not None
        result: dict[tuple[str, int], int] = {}
        for (topic, partition), position in self._owned.items():
            end = (
                await self._conn.execute(
                    text("SELECT next_offset FROM bus.partitions WHERE topic = :t AND partition = :p"),
                    {"t": topic, "p": partition},
                )
            ).scalar_one()
            result[(topic, partition)] = max(int(end) - position, 0)
        await self._conn.commit()
        return result
