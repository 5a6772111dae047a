"""Async engines and sessions; created at start-up, never at import time."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def async_url(url: str) -> str:
    """Accept any PostgreSQL URL and point it at the asyncpg driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url.split('@')[-1]!r}")


def create_engine(url: str, *, pool_size: int = 5, max_overflow: int = 5) -> AsyncEngine:
    return create_async_engine(
        async_url(url), pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True, pool_recycle=1800
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def xact_lock(session: AsyncSession, *parts: str) -> None:
    """Serialise work on one key (e.g. a camera and algorithm) until the session's transaction ends."""
    key = zlib.crc32("|".join(parts).encode()) - 2**31
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


_HELD_LOCKS = "cityloop.xact_locks"


def lock_key(*parts: str) -> int:
    """A 64-bit advisory-lock key for a name (two names sharing a key only wait for each other needlessly)."""
    return int.from_bytes(hashlib.blake2b("|".join(parts).encode(), digest_size=8).digest(), "big", signed=True)


async def xact_locks(session: AsyncSession, keys: Iterable[int]) -> None:
    """Hold these advisory locks until the transaction ends: taken in ascending order in one round trip,
    skipping those this session already holds.

    Transactions that take all the locks of their work at once in this order never wait for each other in a
    circle; a handler that takes more later can, and then the database breaks the deadlock (a retried batch).
    """
    held: set[int] = session.info.setdefault(_HELD_LOCKS, set())
    wanted = sorted(set(keys) - held)
    if not wanted:
        return
    await session.execute(text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k"),
                          {"keys": wanted})
    held.update(wanted)
