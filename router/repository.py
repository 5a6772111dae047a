"""Every query of the router schema."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Double, Integer, Text, bindparam, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, TIMESTAMP
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from router.merge import OpenPrimary, SearchBox
from router.models import decisions, open_primaries, queue, rulesets
from shared.db.driver import driver
from shared.db.engine import xact_locks
from shared.db.staging import stage

# -- rule sets ---------------------------------------------------------------------------------------------------


async def latest_ruleset(session: AsyncSession) -> dict[str, Any] | None:
    row = (await session.execute(select(rulesets).order_by(rulesets.c.version.desc()).limit(1))).mappings().first()
    return dict(row) if row else None


async def latest_version(session: AsyncSession) -> int:
    return int((await session.execute(select(func.coalesce(func.max(rulesets.c.version), 0)))).scalar_one())


async def rulesets_desc(session: AsyncSession, limit: int = 50) -> list[dict[str, Any]]:
    rows = await session.execute(select(rulesets).order_by(rulesets.c.version.desc()).limit(limit))
    return [dict(r) for r in rows.mappings()]


async def insert_ruleset(session: AsyncSession, **values: Any) -> None:
    await session.execute(insert(rulesets).values(**values))


async def seed_ruleset(session: AsyncSession, **values: Any) -> bool:
    """The first version, unless a replica starting alongside stored it first (then False, once it committed)."""
    result = await session.execute(pg_insert(rulesets).values(**values).on_conflict_do_nothing())
    return bool(result.rowcount)  # type: ignore[attr-defined]


# -- decisions ---------------------------------------------------------------------------------------------------


async def decision_exists(session: AsyncSession, report_id: str) -> bool:
    return (
        await session.execute(select(decisions.c.report_id).where(decisions.c.report_id == report_id))
    ).first() is not None


async def decided_among(session: AsyncSession, report_ids: Sequence[str]) -> set[str]:
    """Which of these reports already have a decision: one statement for a whole batch."""
    rows = await session.execute(select(decisions.c.report_id).where(decisions.c.report_id.in_(list(report_ids))))
    return set(rows.scalars())


def stage_decision(session: AsyncSession, **values: Any) -> None:
    """A decision of the report path, written with the batch's others when its transaction commits.

    A plain insert: a second decision of the same report (a replica that took the partition over mid-batch)
    fails the batch, which is retried and then finds the first decision."""
    stage(session, decisions, [values])


async def upsert_decision(session: AsyncSession, **values: Any) -> None:
    """A manual dispatch replaces the 'manual' decision that queued the report."""
    await session.execute(_upsert_decision(frozenset(values)), values)


@functools.cache
def _upsert_decision(columns: frozenset[str]) -> Any:
    """One statement object per column set, built once: its compiled form and cache key are reused (building
    and keying the upsert per report was a tenth of the router's CPU)."""
    stmt = pg_insert(decisions)
    return stmt.on_conflict_do_update(
        index_elements=[decisions.c.report_id], set_={k: stmt.excluded[k] for k in sorted(columns) if k != "report_id"}
    )


# -- open primaries ----------------------------------------------------------------------------------------------


async def lock_neighbourhoods(session: AsyncSession, keys: Sequence[int]) -> None:
    """Hold these merge locks until the transaction ends. A batch takes all its reports' keys at once before
    deciding any of them (`RouterService.prepare`), so two batches never wait for each other in a circle."""
    await xact_locks(session, keys)


@dataclass(frozen=True)
class Search:
    """One report's look for open primaries: its category, window start and search box."""

    category_id: str
    since: datetime
    box: SearchBox


_CASES_FILED = f"""UPDATE {open_primaries.fullname} p SET case_id = f.case_id, open = true
    FROM unnest($1::text[], $2::text[]) AS f(report_id, case_id) WHERE p.report_id = f.report_id"""
_NEAR_MANY = text(
    f"""SELECT s.i, p.report_id, p.category_id, p.lon, p.lat, p.received_at, p.case_id
    FROM unnest(:i, :category, :since, :west, :east, :south, :north)
         AS s(i, category, since, west, east, south, north)
    JOIN {open_primaries.fullname} AS p
      ON p.open AND p.category_id = s.category AND p.received_at >= s.since
     AND p.lon BETWEEN s.west AND s.east AND p.lat BETWEEN s.south AND s.north"""
).bindparams(
    bindparam("i", type_=ARRAY(Integer)),
    bindparam("category", type_=ARRAY(Text)),
    bindparam("since", type_=ARRAY(TIMESTAMP(timezone=True))),
    *(bindparam(side, type_=ARRAY(Double)) for side in ("west", "east", "south", "north")),
)


async def open_primaries_near_many(session: AsyncSession, searches: Sequence[Search]) -> list[list[OpenPrimary]]:
    """Open primaries for a whole batch of reports in one statement: the i-th list answers the i-th search."""
    found: list[list[OpenPrimary]] = [[] for _ in searches]
    if not searches:
        return found
    rows = await session.execute(
        _NEAR_MANY,
        {
            "i": list(range(len(searches))),
            "category": [s.category_id for s in searches],
            "since": [s.since for s in searches],
            "west": [s.box.west for s in searches],
            "east": [s.box.east for s in searches],
            "south": [s.box.south for s in searches],
            "north": [s.box.north for s in searches],
        },
    )
    for i, *values in rows:
        found[i].append(OpenPrimary(*values))
    return found


def stage_primary(session: AsyncSession, primary: OpenPrimary) -> None:
    """A new open primary, written with the batch's others when its transaction commits."""
    stage(session, open_primaries, [asdict(primary)])


async def add_primary(session: AsyncSession, primary: OpenPrimary) -> None:
    await session.execute(
        pg_insert(open_primaries)
        .values(
            report_id=primary.report_id,
            category_id=primary.category_id,
            lon=primary.lon,
            lat=primary.lat,
            received_at=primary.received_at,
            case_id=primary.case_id,
        )
        .on_conflict_do_nothing()
    )


async def primary_cases_filed(session: AsyncSession, filed: Sequence[tuple[str, str]]) -> None:
    """Primary reports learn their cases (report id, case id), in one statement however many."""
    await (await driver(session)).execute(_CASES_FILED, [r for r, _ in filed], [c for _, c in filed])


async def primaries_closed(session: AsyncSession, case_id: str, report_ids: list[str], at: datetime) -> int:
    c = open_primaries.c
    result = await session.execute(
        update(open_primaries)
        .where(or_(c.case_id == case_id, c.report_id.in_(report_ids)), c.open)
        .values(open=False, closed_at=at)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def primaries_reopened(session: AsyncSession, case_id: str) -> int:
    c = open_primaries.c
    result = await session.execute(update(open_primaries).where(c.case_id == case_id).values(open=True, closed_at=None))
    return int(result.rowcount)  # type: ignore[attr-defined]


# -- dispatch queue ----------------------------------------------------------------------------------------------


async def enqueue(session: AsyncSession, **values: Any) -> None:
    await session.execute(pg_insert(queue).values(status="waiting", **values).on_conflict_do_nothing())


async def queue_item(session: AsyncSession, report_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    stmt = select(queue).where(queue.c.report_id == report_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).mappings().first()
    return dict(row) if row else None


async def queue_items(session: AsyncSession, statuses: list[str], limit: int, offset: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(queue)
        .where(queue.c.status.in_(statuses))
        .order_by(queue.c.queued_at, queue.c.report_id)
        .limit(limit)
        .offset(offset)
    )
    return [dict(r) for r in rows.mappings()]


async def update_queue(session: AsyncSession, report_id: str, **values: Any) -> None:
    await session.execute(update(queue).where(queue.c.report_id == report_id).values(**values))


async def queue_waiting_count(session: AsyncSession) -> int:
    stmt = select(func.count()).select_from(queue).where(queue.c.status.in_(["waiting", "claimed"]))
    return int((await session.execute(stmt)).scalar_one())
