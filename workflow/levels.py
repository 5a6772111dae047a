"""Tiered handling (分级分层处置): which level holds a case, and the moves between levels.

A case is held by one level: the district centre (区级大循环), a street centre (街镇中循环) or a community
(网格小循环), recorded as `cases.level` and, below the district, `cases.level_unit` (the street or community
code). Routing chooses the level at filing; 上报 moves a case one level up, 下派 one level down, and 退单 sends a
12345 ticket outside the district's remit back to the city platform.

Clock rules (tests/integration/workflow/test_levels.py checks each):
1. The case's own clocks — first contact and the handling limit of its deadline profile (the 12345 1515
   limits), started at receipt — keep running across levels: a move neither restarts, moves nor cancels them.
2. Each level has its own handling limit (`levels:` in profiles.yaml), a `level:<level>` clock that starts when
   the case reaches the level (filing there, or the move) and stops when the level hands the case on (met at
   the move; `on_time` records whether it passed it on within its limit) or its unit reports the result.
3. A move cancels the acknowledgement clock of the unit that had the case; the new level's dispatcher
   dispatches it and a new acknowledgement clock starts then.
4. The move's event carries the new level's clock; its audit row also records the clocks still running and
   whether the level it left was on time.
"""

from __future__ import annotations

from datetime import datetime

from shared.contracts.cases import DeadlineSet, Level
from shared.errors import Conflict
from workflow.config import Rules
from workflow.repository import CaseRow
from workflow.schedule import DeadlineBook, Opening

LEVEL_CLOCKS = ("level:district", "level:street", "level:community")
UP: dict[str, Level] = {"community": "street", "street": "district"}
DOWN: dict[str, Level] = {"district": "street", "street": "community"}


def level_clock(level: str) -> str:
    return f"level:{level}"


def unit_at(level: str, row: CaseRow) -> str | None:
    """The unit holding the case at `level`: its street or community code; None at the district."""
    unit = {"street": row.street_code, "community": row.community_code}.get(level)
    if level != "district" and not unit:
        raise Conflict(f"the case has no {level} to move to: it was not located in one", field="level")
    return unit


def level_openings(rules: Rules, level: str, start: datetime) -> list[Opening]:
    """The level's own handling limit (rule 2), if the level has one."""
    limit = rules.levels.get(level)  # type: ignore[call-overload]
    return [] if limit is None else [Opening(level_clock(level), limit, start)]


async def open_level_clock(
    book: DeadlineBook, rules: Rules, case_id: str, level: str, start: datetime
) -> list[DeadlineSet]:
    return await book.open_many(case_id, level_openings(rules, level, start))
