"""Fresh databases on the test PostgreSQL server: each test module or test gets its own."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

import asyncpg


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def create_database_async(server_url: str, prefix: str = "t") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(_dsn(server_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return server_url.rsplit("/", 1)[0] + "/" + name


def create_database(server_url: str, prefix: str = "t") -> str:
    """Usable from sync code and from inside a running event loop (it runs on its own thread)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, create_database_async(server_url, prefix)).result()
