"""Each service's SQLAlchemy tables (what its queries assume) equal what its Alembic migrations build.

A column added to `models.py` without a migration passes every test that builds tables from the models and
fails in production, where only migrations run; this compares the two with Alembic's own autogenerate diff.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shared.db.engine import create_engine
from shared.db.migrations import upgrade

PACKAGES = ("intake", "router", "workflow", "analytics")


def _ignored(change: Any) -> bool:
    """alembic_version lives in the schema but belongs to no model; column comments in models.py document the
    code and are not carried into the database (a comment never changes what a query can do)."""
    first = change[0] if isinstance(change, list) else change
    if first[0] == "remove_table":
        return bool(first[1].name == "alembic_version")
    return bool(first[0] == "modify_comment")


@pytest.mark.parametrize("package", PACKAGES)
async def test_models_equal_migrations(pg_url: str, package: str) -> None:
    await upgrade(package, pg_url)
    # the service definition imports every module of the package, so tables declared outside models.py count
    metadata = importlib.import_module(f"{package}.definition").SERVICE.metadata
    engine = create_engine(pg_url, pool_size=1, max_overflow=0)

    def compare(connection: Any) -> list[Any]:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_schemas": True,
                "include_name": lambda name, type_, _parent: type_ != "schema" or name == package,
                "compare_type": True,
                "compare_server_default": False,
            },
        )
        return list(compare_metadata(context, metadata))

    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(compare)
    finally:
        await engine.dispose()
    diff = [d for d in diff if not _ignored(d)]
    assert diff == [], f"{package}/models.py and {package}/migrations disagree: {diff}"
