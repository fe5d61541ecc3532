"""`SqlMetaStore` with a recheck interval (`FOOTFALL_META_RECHECK_MS`), on both backends.

The server store reads its change watch (`meta_version` on PostgreSQL, `PRAGMA data_version`
on SQLite) at most once per interval: a change made elsewhere (the CLI, another instance) is
seen once the interval has passed, a change made through the store itself at once. A manual
clock makes "not before the interval" exact; one test on the real clock polls with a deadline.
On either backend, rows read before a change that another lookup noticed meanwhile are not
cached.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from footfall.auth import tokens
from footfall.storage.meta import SqlMetaStore

INTERVAL = 0.5


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _server_store(
    database_url: str | None, sqlite_path: Path, clock: ManualClock
) -> SqlMetaStore:
    """A store as a server opens it, on the manual clock."""
    store = await SqlMetaStore.open(
        database_url=database_url, sqlite_path=sqlite_path, recheck_seconds=INTERVAL
    )
    store._clock = clock  # the interval is measured on the test clock
    return store


@pytest.fixture(params=["sqlite", "postgresql"])
async def stores(
    request: pytest.FixtureRequest, pg_url: str, tmp_path: Path
) -> AsyncIterator[tuple[SqlMetaStore, SqlMetaStore]]:
    """A server's store (the manual clock at `stores[0]._clock`) and another process's: a
    second PostgreSQL instance, or the CLI on the same SQLite file."""
    database_url = pg_url if request.param == "postgresql" else None
    path = tmp_path / "meta.sqlite3"
    server = await _server_store(database_url, path, ManualClock())
    other = await SqlMetaStore.open(database_url=database_url, sqlite_path=path)
    yield server, other
    await server.close()
    await other.close()


async def test_change_elsewhere_is_seen_once_the_interval_has_passed(
    stores: tuple[SqlMetaStore, SqlMetaStore],
) -> None:
    server, other = stores
    clock = server._clock
    assert isinstance(clock, ManualClock)
    site = await other.create_site("example.com", None, 1.0)
    secret, info = await other.create_token(site.id, 2.0)
    digest = tokens.hash_token(secret)
    checked = clock.now
    auth = await server.site_auth_for_token(digest)
    assert auth is not None and auth.site.id == site.id  # read and cached

    await other.revoke_token(info.id, 3.0)
    clock.now = checked + INTERVAL * 0.9
    # Within the interval the cached answer stands (that is what saves the query) ...
    assert await server.site_auth_for_token(digest) == auth
    clock.now = checked + INTERVAL
    # ... and once it has passed, the revocation applies.
    assert await server.site_auth_for_token(digest) is None
    after = await server.site_auth(site.id)
    assert after is not None and after.tokens == ()

    await other.delete_site(site.id, 4.0)
    clock.now += INTERVAL
    assert await server.site_auth(site.id) is None


async def test_change_through_this_store_is_seen_at_once(
    stores: tuple[SqlMetaStore, SqlMetaStore],
) -> None:
    server, _other = stores
    site = await server.create_site("example.com", None, 1.0)
    assert await server.site_auth(site.id) is not None  # cached
    secret, info = await server.create_token(site.id, 2.0)
    digest = tokens.hash_token(secret)
    auth = await server.site_auth_for_token(digest)
    assert auth is not None and auth.tokens == ((digest, info.id),)
    # The clock never moves: only `invalidate` can make these answers fresh.
    await server.revoke_token(info.id, 3.0)
    assert await server.site_auth_for_token(digest) is None
    await server.delete_site(site.id, 4.0)
    assert await server.site_auth(site.id) is None


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_revocation_elsewhere_applies_within_the_interval_on_the_real_clock(
    backend: str, pg_url: str, tmp_path: Path
) -> None:
    database_url = pg_url if backend == "postgresql" else None
    path = tmp_path / "meta.sqlite3"
    server = await SqlMetaStore.open(
        database_url=database_url, sqlite_path=path, recheck_seconds=INTERVAL
    )
    other = await SqlMetaStore.open(database_url=database_url, sqlite_path=path)
    try:
        site = await other.create_site("example.com", None, 1.0)
        secret, info = await other.create_token(site.id, 2.0)
        digest = tokens.hash_token(secret)
        assert await server.site_auth_for_token(digest) is not None
        await other.revoke_token(info.id, 3.0)
        revoked_at = time.monotonic()
        # Poll as requests would; it must turn within the interval (plus a query's time).
        deadline = revoked_at + INTERVAL + 2.0
        while await server.site_auth_for_token(digest) is not None:
            assert time.monotonic() < deadline, "revocation not seen after the interval"
        assert time.monotonic() - revoked_at <= INTERVAL + 2.0
    finally:
        await server.close()
        await other.close()


class CountingWatch:
    """Wraps a store's change watch, counting the version reads."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.reads = 0

    async def version(self) -> int:
        self.reads += 1
        await asyncio.sleep(0.01)  # in flight long enough for the other lookups to arrive
        value: int = await self.inner.version()
        return value

    def close(self) -> None:
        self.inner.close()


async def test_lookups_arriving_together_share_one_read(
    stores: tuple[SqlMetaStore, SqlMetaStore],
) -> None:
    server, other = stores
    clock = server._clock
    assert isinstance(clock, ManualClock)
    site = await other.create_site("example.com", None, 1.0)
    watch = CountingWatch(server._watch)
    server._watch = watch
    answers = await asyncio.gather(*(server.site_auth(site.id) for _ in range(50)))
    assert all(a is not None and a.site.id == site.id for a in answers)
    assert watch.reads == 1
    await other.delete_site(site.id, 2.0)
    clock.now += INTERVAL
    answers = await asyncio.gather(*(server.site_auth(site.id) for _ in range(50)))
    assert answers == [None] * 50
    assert watch.reads == 2


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_a_load_overtaken_by_a_noticed_change_is_not_cached(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A lookup reads the rows, then (before it caches them) another lookup notices a change
    made meanwhile: the rows read are not cached, so the next lookup reads them again."""
    database_url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    path = tmp_path / "meta.sqlite3"
    server = await SqlMetaStore.open(database_url=database_url, sqlite_path=path)
    other = await SqlMetaStore.open(database_url=database_url, sqlite_path=path)
    try:
        site = await other.create_site("example.com", None, 1.0)
        secret, info = await other.create_token(site.id, 2.0)
        digest = tokens.hash_token(secret)
        load = server._load_site_auth

        async def load_then_change(site_id: str) -> Any:
            auth = await load(site_id)  # the token still active
            await other.revoke_token(info.id, 3.0)
            await server._refresh_if_changed()  # another lookup notices the change
            return auth

        server._load_site_auth = load_then_change  # type: ignore[method-assign]
        first = await server.site_auth(site.id)
        assert first is not None and first.tokens == ((digest, info.id),)
        server._load_site_auth = load  # type: ignore[method-assign]
        later = await server.site_auth(site.id)
        assert later is not None and later.tokens == ()
    finally:
        await server.close()
        await other.close()
