"""Analytics: read models fed by `cases.v1`, the scores of docs/metrics.md, hot spots, dashboards."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


async def rebuild(session: AsyncSession) -> None:
    """Empty the read models and the inbox (in the caller's transaction) before a replay from offset zero.

    `cityloop replay analytics --rebuild` calls it (as `SERVICE.reset`) and then moves the consumer
    group back to offset zero; the next start folds every event again and gives the same numbers.
    """
    from analytics.repository import truncate

    await truncate(session)
