"""The bus port: a partitioned, replayable log with consumer groups and committed offsets."""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True, slots=True)
class OutMessage:
    topic: str
    key: str
    value: bytes
    headers: Headers = ()


@dataclass(frozen=True, slots=True)
class InMessage:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes
    headers: Headers = ()
    timestamp_ms: int = 0

    def header(self, name: str) -> bytes | None:
        return next((v for k, v in self.headers if k == name), None)


@dataclass(slots=True)
class TopicSpec:
    name: str
    partitions: int = 3
    config: dict[str, str] = field(default_factory=dict)


def partition_for(key: str, partitions: int) -> int:
    """Stable key → partition, so one report's or case's events stay in order."""
    return zlib.crc32(key.encode()) % partitions


class Subscriber(ABC):
    """One member of a consumer group. Offsets move only when `commit` is called."""

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    async def poll(self, max_records: int, timeout_s: float) -> list[InMessage]: ...

    @abstractmethod
    async def commit(self, messages: Sequence[InMessage]) -> None:
        """Mark everything up to and including these messages as handled, per partition."""

    @abstractmethod
    async def lag(self) -> dict[tuple[str, int], int]:
        """Messages not yet consumed, per assigned (topic, partition)."""


class Bus(ABC):
    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    async def ensure_topics(self, topics: Sequence[TopicSpec]) -> None: ...

    @abstractmethod
    async def publish(self, messages: Sequence[OutMessage]) -> None:
        """Returns once every message is durably on the log, in order per key."""

    @abstractmethod
    def subscriber(self, group: str, topics: Sequence[str]) -> Subscriber: ...

    @abstractmethod
    async def group_lag(self, group: str, topics: Sequence[str]) -> int:
        """Messages on `topics` the group has not committed yet (all partitions)."""

    @abstractmethod
    async def read_topic(self, topic: str) -> list[InMessage]:
        """Every message still on the topic, in partition/offset order (tests, tooling, replay checks)."""

    @abstractmethod
    async def reset_offsets(self, group: str, topic: str, *, to_time: datetime | None = None) -> Mapping[int, int]:
        """Move a stopped group's committed offsets to the start, or to the first message at/after `to_time`."""
