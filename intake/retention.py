"""PII retention: a reporter's phone and name are erased a set number of days after the case closes.

Erasure drops the report's data key (crypto-shredding, see `intake.pii`) and writes an audit row in the
same transaction. The report, its case and everything analytics scored from the events stay as they were:
they never carried the details in the clear.
"""

from __future__ import annotations

import asyncio

from intake.service import Intake
from shared.logging import get_logger
from shared.service import ServiceRuntime

log = get_logger(__name__)


async def erase_expired(runtime: ServiceRuntime) -> int:
    """One sweep until nothing is due; returns how many reports' details were erased."""
    intake: Intake = runtime.services["intake"]
    total = 0
    while True:
        async with runtime.transaction() as session:
            erased = await intake.erase_due_contacts(session)
        total += erased
        if erased < 200:
            return total


async def retention_worker(runtime: ServiceRuntime) -> None:
    """Worker: sweep for contact details past retention, on the city clock, every `pii_sweep_interval_s`."""
    intake: Intake = runtime.services["intake"]
    while True:
        try:
            await erase_expired(runtime)
        except Exception as exc:  # the database is away: try again on the next tick
            log.warning("pii_retention_sweep_failed", error=repr(exc))
        await asyncio.sleep(intake.config.pii_sweep_interval_s)
