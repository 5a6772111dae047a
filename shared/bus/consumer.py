"""The consumer loop: poll, handle, commit offsets only after the effect; retry, then dead-letter."""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence

from shared.bus.base import Bus, InMessage, OutMessage
from shared.contracts import dlq_topic
from shared.handling import PermanentError
from shared.logging import get_logger
from shared.metrics import CONSUMER_LAG, DLQ_MESSAGES, EVENTS_CONSUMED, HANDLER_LATENCY

log = get_logger(__name__)
BatchHandler = Callable[[Sequence[InMessage]], Awaitable[None]]


_TRANSIENT_SQLSTATES = {"40001", "40P01", "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004"}


def is_transient(exc: BaseException) -> bool:
    """The infrastructure is away (database restarting, connection lost, deadlock): not the message's fault."""
    import sqlalchemy.exc

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError | TimeoutError | sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError):
            return True
        if isinstance(seen, sqlalchemy.exc.DBAPIError) and seen.connection_invalidated:
            return True
        if getattr(seen, "sqlstate", None) in _TRANSIENT_SQLSTATES:
            return True
        if type(seen).__name__ in {"ConnectionDoesNotExistError", "CannotConnectNowError", "InterfaceError"}:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class ConsumerLoop:
    def __init__(
        self,
        bus: Bus,
        group: str,
        topics: Sequence[str],
        handle_batch: BatchHandler,
        *,
        service: str,
        max_attempts: int = 5,
        batch_size: int = 500,
        retry_backoff_s: float = 0.05,
        poll_timeout_s: float = 0.5,
        linger_s: float = 0.005,
        commit_interval_s: float = 1.0,
    ) -> None:
        self.bus = bus
        self.group = group
        self.topics = list(topics)
        self.handle_batch = handle_batch
        self.service = service
        self.max_attempts = max_attempts
        self.batch_size = batch_size
        self.retry_backoff_s = retry_backoff_s
        self.poll_timeout_s = poll_timeout_s
        self.linger_s = linger_s
        self.commit_interval_s = commit_interval_s
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Poll (the subscriber lingers a moment for more), handle the batch; commit offsets at most every
        `commit_interval_s`.

        A batch costs one transaction whatever its size, so under load a few milliseconds of linger turn many
        one-message transactions into one. Offsets trail the effects (committed when the topic goes quiet or
        the interval passes): a crash redelivers a little more, and the inbox makes that change nothing.
        """
        subscriber = self.bus.subscriber(self.group, self.topics, linger_s=self.linger_s)
        await subscriber.start()
        last_lag = last_commit = time.monotonic()
        uncommitted: dict[tuple[str, int], InMessage] = {}
        try:
            while not self._stopping.is_set():
                messages = await subscriber.poll(self.batch_size, self.poll_timeout_s)
                if messages:
                    await self.process(messages)
                    uncommitted.update(((m.topic, m.partition), m) for m in messages)
                now = time.monotonic()
                if uncommitted and (not messages or now - last_commit >= self.commit_interval_s):
                    await subscriber.commit(list(uncommitted.values()))
                    uncommitted.clear()
                    last_commit = now
                if now - last_lag > 5:
                    last_lag = now
                    for (topic, partition), lag in (await subscriber.lag()).items():
                        CONSUMER_LAG.labels(self.service, self.group, topic, str(partition)).set(lag)
            if uncommitted:
                await subscriber.commit(list(uncommitted.values()))
        finally:
            await subscriber.stop()

    async def process(self, messages: Sequence[InMessage]) -> None:
        """Whole batch in one transaction; if it fails, each message on its own with retries."""
        started = time.perf_counter()
        try:
            await self.handle_batch(messages)
            outcome_counts = {m.topic: 0 for m in messages}
            for m in messages:
                outcome_counts[m.topic] += 1
            for topic, n in outcome_counts.items():
                EVENTS_CONSUMED.labels(self.service, topic, "ok").inc(n)
        except Exception:
            if len(messages) == 1 and self.max_attempts <= 1:
                raise
            for message in messages:
                await self._process_one(message)
        HANDLER_LATENCY.labels(self.service, messages[0].topic).observe(time.perf_counter() - started)

    async def _process_one(self, message: InMessage) -> None:
        """Retry a failing message; only failures of the message itself count toward the dead-letter topic.

        While the database or network is away the loop waits (with backoff) without using up attempts, so
        an outage delays events but never dead-letters good ones.
        """
        attempt, outage = 0, 0
        while True:
            try:
                await self.handle_batch([message])
                EVENTS_CONSUMED.labels(self.service, message.topic, "ok").inc()
                return
            except Exception as exc:
                if is_transient(exc):
                    if self._stopping.is_set():
                        raise  # leave the offset uncommitted: the next member redelivers it
                    outage += 1
                    log.warning(
                        "infrastructure_unavailable",
                        topic=message.topic,
                        offset=message.offset,
                        error=repr(exc),
                        waited=outage,
                    )
                    await asyncio.sleep(min(0.2 * 2 ** min(outage, 5), 5.0))
                    continue
                attempt += 1
                if isinstance(exc, PermanentError) or attempt >= self.max_attempts:
                    await self._dead_letter(message, exc, attempt)
                    return
                log.warning(
                    "handler_retry", topic=message.topic, offset=message.offset, attempt=attempt, error=repr(exc)
                )
                await asyncio.sleep(min(self.retry_backoff_s * 2 ** (attempt - 1), 2.0))

    async def _dead_letter(self, message: InMessage, exc: BaseException, attempts: int) -> None:
        error = "".join(traceback.format_exception_only(exc)).strip()
        kept = tuple(h for h in message.headers if not h[0].startswith("dlq."))
        headers = (
            *kept,
            ("dlq.error", error.encode()[:4000]),
            ("dlq.topic", message.topic.encode()),
            ("dlq.partition", str(message.partition).encode()),
            ("dlq.offset", str(message.offset).encode()),
            ("dlq.group", self.group.encode()),
            ("dlq.attempts", str(attempts).encode()),
        )
        await self.bus.publish([OutMessage(dlq_topic(message.topic), message.key or "", message.value, headers)])
        DLQ_MESSAGES.labels(self.service, message.topic).inc()
        EVENTS_CONSUMED.labels(self.service, message.topic, "dead_lettered").inc()
        log.error("dead_lettered", topic=message.topic, offset=message.offset, attempts=attempts, error=error)
