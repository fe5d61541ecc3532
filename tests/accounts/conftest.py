"""Account stores on a fresh metadata database: SQLite (embedded) and PostgreSQL (cluster)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from footfall.storage.meta import SqlMetaStore


@pytest.fixture(params=["sqlite", "postgresql"])
async def meta(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlMetaStore]:
    database_url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    store = await SqlMetaStore.open(database_url=database_url, sqlite_path=tmp_path / "meta.db")
    yield store
    await store.close()
