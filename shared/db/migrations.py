"""Alembic per service schema: each domain package keeps `migrations/` whose env.py calls `run_env`."""

from __future__ import annotations

import asyncio
from importlib import resources

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from shared.db.engine import async_url, create_engine


def alembic_config(package: str, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files(package) / "migrations"))
    cfg.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    return cfg


def run_env(metadata: MetaData, schema: str) -> None:
    """Body of every migrations/env.py: online migrations over asyncpg, version table inside the schema."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url

    def do_run(connection: Connection) -> None:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=lambda name, type_, _parent: type_ != "schema" or name == schema,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_engine(url, pool_size=1, max_overflow=0)
        async with engine.begin() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    asyncio.run(run())


async def upgrade(package: str, url: str, revision: str = "head") -> None:
    """Apply a package's migrations; runs Alembic in a thread because env.py owns its own event loop."""
    await asyncio.to_thread(command.upgrade, alembic_config(package, url), revision)


async def downgrade(package: str, url: str, revision: str = "base") -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(package, url), revision)


def create_messaging_tables(schema: str) -> None:
    """Inside a migration: the outbox and inbox tables exactly as `shared.db.outbox` declares them."""
    from alembic import op
    from sqlalchemy import BigInteger, Column, DateTime, Identity, LargeBinary, Text, func

    op.create_table(
        "outbox",
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("topic", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        schema=schema,
    )
    op.create_table(
        "inbox",
        Column("consumer", Text, primary_key=True),
        Column("event_id", Text, primary_key=True),
        Column("handled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        schema=schema,
    )
