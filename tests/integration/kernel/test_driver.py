"""Statements on the driver's connection belong to the session's transaction, like every other statement."""

from __future__ import annotations

from sqlalchemy import text

from shared.db.driver import Record, driver
from shared.db.engine import create_engine, session_factory


async def test_driver_statements_commit_and_roll_back_with_the_session(pg_url: str) -> None:
    engine = create_engine(pg_url)
    sessions = session_factory(engine)
    try:
        async with sessions() as session, session.begin():
            await session.execute(text("CREATE TABLE t (id int PRIMARY KEY, tags jsonb)"))
        async with sessions() as session:
            async with session.begin():  # the driver's statement is the transaction's first
                await (await driver(session)).execute("INSERT INTO t VALUES (1, $1)", '["kept"]')
            async with session.begin():  # a new transaction, maybe on another connection
                await (await driver(session)).execute("INSERT INTO t VALUES (2, '[]')")
                await session.rollback()
        async with sessions() as session:
            row = Record(await (await driver(session)).fetchrow("SELECT * FROM t"))
            assert (row.id, row.tags) == (1, ["kept"])
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
    finally:
        await engine.dispose()
