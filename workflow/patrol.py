"""Verification tasks (核查): a handled case waits for the inspector of the grid where the problem was found.

The responsibility grids come from a YAML file (`CITYLOOP_WORKFLOW_PATROL_GRIDS_PATH`); a case is in an
inspector's grid when its street, community or cell is one of theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import yaml
from fastapi import APIRouter, Depends, Query
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.auth import Principal, Role, require
from shared.service import ServiceRuntime, runtime_of
from workflow.config import REPO_ROOT
from workflow.repository import Repository
from workflow.schemas import CaseList
from workflow.views import case_views


class PatrolSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYLOOP_WORKFLOW_", env_file=".env", extra="ignore")

    patrol_grids_path: Path = REPO_ROOT / "deploy" / "demo" / "patrol_grids.yaml"


@dataclass(frozen=True)
class Grid:
    street_codes: frozenset[str] = field(default_factory=frozenset)
    community_codes: frozenset[str] = field(default_factory=frozenset)
    cell_codes: frozenset[str] = field(default_factory=frozenset)


def load_grids(path: Path) -> dict[str, Grid]:
    """Inspector → grid; a missing file means no inspector has a grid yet (every list is empty)."""
    if not path.exists():
        return {}
    raw = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("inspectors") or {}
    return {
        str(name): Grid(
            *(
                frozenset(str(c) for c in (g or {}).get(k) or ())
                for k in ("street_codes", "community_codes", "cell_codes")
            )
        )
        for name, g in raw.items()
    }


router = APIRouter(tags=["patrol"])
Runtime = Annotated[ServiceRuntime, Depends(runtime_of("workflow"))]


@router.get(
    "/v1/patrol/verification-tasks",
    response_model=CaseList,
    summary="Handled cases in the inspector's grid that wait for on-site verification (核查), oldest first",
)
async def verification_tasks(
    rt: Runtime,
    who: Annotated[Principal, Depends(require(Role.INSPECTOR))],
    inspector: Annotated[str | None, Query(max_length=100, description="admin only: whose list")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CaseList:
    grids: dict[str, Grid] = rt.services["workflow.patrol_grids"]
    grid = grids.get(inspector if inspector and who.role is Role.ADMIN else who.subject, Grid())
    async with rt.sessions() as session:
        repo = Repository(session)
        rows = await repo.awaiting_verification(
            sorted(grid.street_codes), sorted(grid.community_codes), sorted(grid.cell_codes), limit
        )
        items = await case_views(repo, rt.services["workflow"], rows, who, rt.clock.now())
    return CaseList(items=items, limit=limit, offset=0, next_offset=None)
