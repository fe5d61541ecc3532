"""Real PostgreSQL and Redis for tests: a fresh database and a fresh key prefix per test.

Nothing is mocked and nothing is skipped: when a server cannot be reached the test fails with
the reason. `.ci/run` starts both services before the suite. Override the servers with
`FOOTFALL_TEST_PG_ADMIN_URL` (a database the test user may `CREATE DATABASE` from) and
`FOOTFALL_TEST_REDIS_URL`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from footfall.config import Settings
from footfall.storage.duckdb_events import DuckDBEventStore
from footfall.storage.events import EventStore
from footfall.storage.meta import SqlMetaStore
from footfall.storage.postgres_events import PostgresEventStore

PG_ADMIN_URL = os.environ.get(
    "FOOTFALL_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("FOOTFALL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _database_url(name: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


# Fixtures are synchronous (psycopg, redis-py) so that async fixtures and parametrised
# suites can request them lazily with `request.getfixturevalue`.


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    name = f"footfall_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield _database_url(name)
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A fresh Redis key prefix; every key under it is deleted after the test."""
    prefix = f"footfall-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture(params=["sqlite", "postgresql"])
async def meta(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlMetaStore]:
    """A fresh metadata store on each backend: SQLite (embedded) and PostgreSQL (cluster)."""
    database_url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    store = await SqlMetaStore.open(database_url=database_url, sqlite_path=tmp_path / "meta.db")
    yield store
    await store.close()


def app_settings(
    tmp_path: Path, *, pg_url: str | None = None, redis_prefix: str | None = None
) -> Settings:
    """Settings of an app under test: its data folder in `tmp_path`, no access log, and the test
    client's peer (127.0.0.1) a trusted proxy, so tests choose client addresses. Cluster mode
    (PostgreSQL at `pg_url`, the test Redis under `redis_prefix`) when `pg_url` is given."""
    common: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "access_log": False,
        "trusted_proxies": ["127.0.0.1/32"],
    }
    if pg_url is None:
        return Settings(**common)
    return Settings(**common, database_url=pg_url, redis_url=REDIS_URL, redis_prefix=redis_prefix)


def tier_settings_for(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """`app_settings` of the tier a fixture is parametrised with: "embedded" or "cluster" (a
    fresh database and key prefix from the `pg_url` and `redis_prefix` fixtures)."""
    if request.param == "embedded":
        return app_settings(tmp_path)
    return app_settings(
        tmp_path,
        pg_url=request.getfixturevalue("pg_url"),
        redis_prefix=request.getfixturevalue("redis_prefix"),
    )


async def open_event_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> EventStore:
    """A fresh event store of `kind` ("duckdb" or "postgres") for parametrised suites."""
    if kind == "duckdb":
        return DuckDBEventStore(tmp_path / "events.duckdb")
    return await PostgresEventStore.open(request.getfixturevalue("pg_url"))
