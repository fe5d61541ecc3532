"""`SqlMetaStore` contract, on SQLite (embedded) and PostgreSQL (cluster): one suite.

Caching that never goes stale (a change through one store is seen by another at its next
call, as a CLI process and a server, or two server instances, would), soft delete, tokens,
salts, migrations.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from footfall.auth import tokens
from footfall.errors import BackendUnavailable, NotFoundError
from footfall.storage import migrate
from footfall.storage.meta import SqlMetaStore, normalise_domain

Opener = Callable[[], Awaitable[SqlMetaStore]]


@pytest.fixture(params=["sqlite", "postgresql"])
async def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens stores on one shared database (each call = another process/instance)."""
    database_url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    opened: list[SqlMetaStore] = []

    async def opener() -> SqlMetaStore:
        store = await SqlMetaStore.open(
            database_url=database_url, sqlite_path=tmp_path / "meta.sqlite3"
        )
        opened.append(store)
        return store

    yield opener
    for store in opened:
        await store.close()


async def test_changes_by_another_store_are_seen_at_once(open_store: Opener) -> None:
    server, cli = await open_store(), await open_store()
    site = await cli.create_site("example.com", None, 1.0)
    auth = await server.site_auth(site.id)
    assert auth is not None and auth.tokens == ()  # cached now
    token, info = await cli.create_token(site.id, 2.0)
    auth = await server.site_auth(site.id)
    assert auth is not None and auth.tokens == ((tokens.hash_token(token), info.id),)
    assert await server.site_auth_for_token(tokens.hash_token(token)) == auth
    await cli.revoke_token(info.prefix, 3.0)
    auth = await server.site_auth(site.id)
    assert auth is not None and auth.tokens == ()
    assert await server.site_auth_for_token(tokens.hash_token(token)) is None
    await cli.delete_site(site.id, 4.0)
    assert await server.site_auth(site.id) is None


async def test_unknown_site_is_cached_negatively_until_a_change(open_store: Opener) -> None:
    store, other = await open_store(), await open_store()
    unknown = "0b6e4c1a-1d2f-4c3b-9a8e-7f6d5c4b3a29"
    assert await store.site_auth(unknown) is None
    assert unknown in store._auth_cache
    await other.create_site("example.com", None, 1.0)
    assert await store.site_auth(unknown) is None


async def test_ids_that_are_not_uuids_are_refused_without_a_query(open_store: Opener) -> None:
    store = await open_store()
    for garbage in ("nope", "", "x" * 10_000, "0B6E4C1A-1D2F-4C3B-9A8E-7F6D5C4B3A29", "a\x00b"):
        assert await store.site_auth(garbage) is None
        assert garbage not in store._auth_cache  # nor a place in the cache


async def test_last_used_does_not_flush_caches_needlessly(open_store: Opener) -> None:
    store = await open_store()
    site = await store.create_site("example.com", None, 1.0)
    _, info = await store.create_token(site.id, 1.0)
    await store.site_auth(site.id)
    await store.note_token_used(info.id, 5.0)
    (listed,) = await store.list_tokens(site.id)
    assert listed.last_used_at == 5.0
    await store.note_token_used(info.id, 30.0)  # within a minute: not written again
    (listed,) = await store.list_tokens(site.id)
    assert listed.last_used_at == 5.0


async def test_soft_delete_then_forget(open_store: Opener) -> None:
    store = await open_store()
    site = await store.create_site("example.com", None, 1.0)
    await store.create_token(site.id, 1.0)
    await store.delete_site(site.id, 2.0)
    assert await store.list_sites() == []
    assert await store.deleted_site_ids() == [site.id]
    with pytest.raises(NotFoundError):
        await store.delete_site(site.id, 3.0)
    with pytest.raises(NotFoundError):
        await store.create_token(site.id, 3.0)
    await store.forget_sites([site.id])
    assert await store.deleted_site_ids() == []
    assert await store.list_tokens(site.id) == []


async def test_sites_listing_and_lookup_by_domain(open_store: Opener) -> None:
    store = await open_store()
    a = await store.create_site("https://A.example.com/", "A", 1.0)
    b = await store.create_site("b.example.com", None, 2.0)
    assert [s.id for s in await store.list_sites()] == [a.id, b.id]
    assert b.name == "b.example.com"
    assert [s.id for s in await store.find_sites_by_domain("a.example.com")] == [a.id]
    assert await store.get_site(a.id) == a


async def test_revoke_is_refused_when_ambiguous_or_unknown(open_store: Opener) -> None:
    store = await open_store()
    site = await store.create_site("example.com", None, 1.0)
    with pytest.raises(NotFoundError):
        await store.revoke_token("vt_nothing", 1.0)
    token, info = await store.create_token(site.id, 1.0)
    revoked = await store.revoke_token(token, 2.0)
    assert revoked.id == info.id and revoked.revoked_at == 2.0
    with pytest.raises(NotFoundError):
        await store.revoke_token(token, 3.0)  # already revoked


async def test_salts_are_created_once_per_day_and_pruned(open_store: Opener) -> None:
    store, other = await open_store(), await open_store()
    today, previous = await store.salts_for("2026-01-02", "2026-01-01")
    assert previous is None and len(today) == 32
    assert await other.salts_for("2026-01-02", "2026-01-01") == (today, None)
    tomorrow, previous = await store.salts_for("2026-01-03", "2026-01-02")
    assert previous == today and tomorrow != today
    await store.salts_for("2026-01-04", "2026-01-03")
    async with store.engine.connect() as conn:
        days = sorted(await conn.scalars(sa.text("SELECT day FROM salts")))
    assert days == ["2026-01-03", "2026-01-04"]


async def test_concurrent_first_salt_of_the_day_is_one_salt(open_store: Opener) -> None:
    stores = [await open_store() for _ in range(4)]
    results = await asyncio.gather(*(s.salts_for("2026-02-01", "2026-01-31") for s in stores))
    assert len({current for current, _ in results}) == 1


async def test_migrations_are_idempotent_and_match_the_schema(open_store: Opener) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from footfall.storage.schema import metadata

    store = await open_store()
    await store.migrate()
    assert await migrate.current_revision(store.engine) == "0003"
    async with store.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )
    # PostgreSQL also holds the event tables, which are not part of the metadata schema.
    assert [d for d in diff if not _is_event_table(d)] == []


def _is_event_table(diff: object) -> bool:
    return isinstance(diff, tuple) and diff[0] == "remove_table" and "event" in diff[1].name


async def test_unreachable_postgresql_is_backend_unavailable(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable) as error:
        await SqlMetaStore.open(
            database_url="postgresql://postgres@127.0.0.1:1/nothing",
            sqlite_path=tmp_path / "unused.sqlite3",
        )
    assert error.value.status == 503


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Example.com", "example.com"),
        ("https://www.example.com/path", "www.example.com"),
        ("http://example.com:8080", "example.com"),
        (" shop.example.org ", "shop.example.org"),
    ],
)
def test_normalise_domain(raw: str, normalised: str) -> None:
    assert normalise_domain(raw) == normalised


def test_bad_domain() -> None:
    with pytest.raises(ValueError):
        normalise_domain("   ")


async def test_site_settings_defaults_and_round_trip(open_store: Opener) -> None:
    store, other = await open_store(), await open_store()
    site = await store.create_site("example.com", None, 1.0, timezone="Europe/Berlin")
    assert (site.timezone, site.allowed_hostnames, site.honor_gpc) == ("Europe/Berlin", (), False)
    assert (site.retention_days, site.live_min_count) == (None, 0)
    changed = await store.update_site(
        site.id,
        allowed_hostnames=["Shop.Example.org", "*.example.net", "shop.example.org"],
        honor_gpc=True,
        retention_days=90,
        live_min_count=3,
    )
    assert changed.allowed_hostnames == ("shop.example.org", "*.example.net")
    seen = await other.get_site(site.id)  # another process sees the change at once
    assert seen == changed
    assert (seen.timezone, seen.honor_gpc, seen.retention_days, seen.live_min_count) == (
        "Europe/Berlin",
        True,
        90,
        3,
    )
    assert (await store.list_sites()) == [changed]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"retention_days": 0}, "retention_days"),
        ({"live_min_count": -1}, "live_min_count"),
        ({"name": "  "}, "name"),
        ({"allowed_hostnames": ["not a host"]}, "not a domain"),
        ({"domain": "other.com"}, "unknown site settings: domain"),
    ],
)
async def test_invalid_site_settings_are_refused(
    open_store: Opener, changes: dict[str, object], message: str
) -> None:
    store = await open_store()
    site = await store.create_site("example.com", None, 1.0)
    with pytest.raises(ValueError, match=message):
        await store.update_site(site.id, **changes)
    assert await store.get_site(site.id) == site


async def test_update_of_a_deleted_site_is_not_found(open_store: Opener) -> None:
    store = await open_store()
    site = await store.create_site("example.com", None, 1.0)
    await store.delete_site(site.id, 2.0)
    with pytest.raises(NotFoundError):
        await store.update_site(site.id, name="x")


async def test_rotate_token_replaces_it_in_one_step(open_store: Opener) -> None:
    server, dashboard = await open_store(), await open_store()
    site = await dashboard.create_site("example.com", None, 1.0)
    other = await dashboard.create_site("other.com", None, 1.0)
    old_secret, old = await dashboard.create_token(site.id, 2.0, name="pricing card")
    assert await server.site_auth_for_token(tokens.hash_token(old_secret)) is not None
    secret, new, revoked = await dashboard.rotate_token(site.id, old.id, 3.0)
    assert tokens.is_well_formed(secret) and secret != old_secret
    assert (new.name, new.created_at, new.revoked_at) == ("pricing card", 3.0, None)
    assert (revoked.id, revoked.revoked_at) == (old.id, 3.0)
    auth = await server.site_auth(site.id)
    assert auth is not None and auth.tokens == ((tokens.hash_token(secret), new.id),)
    assert await server.site_auth_for_token(tokens.hash_token(old_secret)) is None
    for site_id, token_id in ((site.id, old.id), (other.id, new.id), (site.id, "missing")):
        with pytest.raises(NotFoundError):  # revoked, another site's, unknown
            await dashboard.rotate_token(site_id, token_id, 4.0)
