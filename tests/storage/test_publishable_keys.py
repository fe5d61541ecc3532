"""`PublishableKeyStore` on SQLite (embedded) and PostgreSQL (cluster): one suite.

Keys are created, listed and revoked like tokens; the live endpoints' check (`grant`) is cached
and never stale: a change through another store (a CLI process, another instance) applies at
its next call.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from footfall.auth import publishable
from footfall.errors import NotFoundError
from footfall.realtime.paths import PathPattern
from footfall.storage.meta import SqlMetaStore
from footfall.storage.publishable_keys import PublishableKeyStore

Opener = Callable[[], Awaitable[tuple[SqlMetaStore, PublishableKeyStore]]]
ORIGIN = "https://shop.example.com"


@pytest.fixture(params=["sqlite", "postgresql"])
async def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens stores on one shared database (each call = another process/instance)."""
    database_url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    opened: list[SqlMetaStore] = []

    async def opener() -> tuple[SqlMetaStore, PublishableKeyStore]:
        meta = await SqlMetaStore.open(
            database_url=database_url, sqlite_path=tmp_path / "meta.sqlite3"
        )
        opened.append(meta)
        return meta, PublishableKeyStore(meta)

    yield opener
    for meta in opened:
        await meta.close()


async def test_create_list_revoke(open_store: Opener) -> None:
    meta, keys = await open_store()
    site = await meta.create_site("example.com", None, 1.0)
    key = await keys.create(
        site.id,
        2.0,
        origins=["https://Shop.Example.com:443/", ORIGIN, "http://localhost:8080"],
        paths=["/pricing", " /plans/* ", "/pricing"],
        name="pricing card",
    )
    assert publishable.is_well_formed(key.key)
    assert key.allowed_origins == (ORIGIN, "http://localhost:8080")  # normalised, deduplicated
    assert key.allowed_paths == (PathPattern("/pricing"), PathPattern("/plans/", prefix=True))
    assert (key.site_id, key.name, key.created_at, key.revoked_at) == (
        site.id,
        "pricing card",
        2.0,
        None,
    )
    assert await keys.list_keys(site.id) == [key]
    revoked = await keys.revoke(key.key, 3.0)
    assert revoked.revoked_at == 3.0
    assert [k.revoked_at for k in await keys.list_keys(site.id)] == [3.0]
    with pytest.raises(NotFoundError, match="no active publishable key"):
        await keys.revoke(key.id, 4.0)
    other = await keys.create(site.id, 5.0, origins=["*"])
    assert (await keys.revoke(other.id, 6.0)).key == other.key  # by id too


@pytest.mark.parametrize(
    ("origins", "paths", "message"),
    [
        ([], [], "give at least one origin"),
        (["example.com"], [], "not an origin"),
        (["ftp://example.com"], [], "not an origin"),
        (["https://example.com/pricing"], [], "no path"),
        (["https://user@example.com"], [], "no path"),
        (["https://example.com:99999"], [], "not an origin"),
        ([ORIGIN], ["pricing"], "path 'pricing': must start with"),
        ([ORIGIN], ["/a/*/b"], "only at the end"),
    ],
)
async def test_invalid_settings_are_refused(
    open_store: Opener, origins: list[str], paths: list[str], message: str
) -> None:
    meta, keys = await open_store()
    site = await meta.create_site("example.com", None, 1.0)
    with pytest.raises(ValueError, match=message):
        await keys.create(site.id, 1.0, origins=origins, paths=paths)
    with pytest.raises(ValueError, match="name"):
        await keys.create(site.id, 1.0, origins=[ORIGIN], name="x" * 201)
    assert await keys.list_keys(site.id) == []


async def test_unknown_or_deleted_site(open_store: Opener) -> None:
    meta, keys = await open_store()
    with pytest.raises(NotFoundError, match="no site"):
        await keys.create("nope", 1.0, origins=[ORIGIN])
    with pytest.raises(NotFoundError, match="no site"):
        await keys.list_keys("nope")
    site = await meta.create_site("example.com", None, 1.0)
    await meta.delete_site(site.id, 2.0)
    with pytest.raises(NotFoundError, match="no site"):
        await keys.create(site.id, 3.0, origins=[ORIGIN])


async def test_grants_follow_changes_made_elsewhere_at_once(open_store: Opener) -> None:
    _, server = await open_store()
    cli_meta, cli = await open_store()
    site = await cli_meta.create_site("example.com", None, 1.0)
    key = await cli.create(site.id, 2.0, origins=[ORIGIN], paths=["/pricing"])
    grant = await server.grant(key.key)
    assert grant is not None and grant.key == key and grant.live_min_count == 0
    assert await server.grant(key.key) is grant  # cached

    await cli_meta.update_site(site.id, live_min_count=5)
    grant = await server.grant(key.key)
    assert grant is not None and grant.live_min_count == 5

    await cli.revoke(key.key, 3.0)
    assert await server.grant(key.key) is None

    second = await cli.create(site.id, 4.0, origins=["*"])
    assert await server.grant(second.key) is not None
    await cli_meta.delete_site(site.id, 5.0)
    assert await server.grant(second.key) is None  # a deleted site's keys stop at once


async def test_unknown_and_malformed_keys(open_store: Opener) -> None:
    meta, keys = await open_store()
    site = await meta.create_site("example.com", None, 1.0)
    made = await keys.create(site.id, 1.0, origins=[ORIGIN])
    unknown = publishable.generate_key()
    assert await keys.grant(unknown) is None
    assert await keys.grant(made.key[:-1] + ("A" if made.key[-1] != "A" else "B")) is None
    assert await keys.grant("vt_" + made.key[3:]) is None
    assert await keys.grant("") is None


async def test_max_age_spaces_out_change_checks(open_store: Opener) -> None:
    _, server = await open_store()
    cli_meta, cli = await open_store()
    site = await cli_meta.create_site("example.com", None, 1.0)
    key = await cli.create(site.id, 2.0, origins=[ORIGIN])
    assert await server.grant(key.key) is not None
    await cli.revoke(key.key, 3.0)
    # A stream re-checking its key within `max_age` of the last check reads the cache...
    assert await server.grant(key.key, max_age=3600) is not None
    # ...and any request (max_age 0) sees the change.
    assert await server.grant(key.key) is None
    assert await server.grant(key.key, max_age=3600) is None


async def test_last_used_is_written_at_most_once_a_minute(open_store: Opener) -> None:
    meta, keys = await open_store()
    site = await meta.create_site("example.com", None, 1.0)
    key = await keys.create(site.id, 1.0, origins=[ORIGIN])
    await keys.note_used(key.id, 10.0)
    await keys.note_used(key.id, 50.0)
    assert [k.last_used_at for k in await keys.list_keys(site.id)] == [10.0]
    await keys.note_used(key.id, 71.0)
    assert [k.last_used_at for k in await keys.list_keys(site.id)] == [71.0]


def test_what_a_key_allows() -> None:
    from footfall.storage.publishable_keys import PublishableKey

    def key(origins: tuple[str, ...], paths: tuple[str, ...]) -> PublishableKey:
        return PublishableKey(
            "id", "site", "pk", "", origins, tuple(map(PathPattern.parse, paths)), 0, None, None
        )

    pricing = key((ORIGIN,), ("/pricing", "/plans/*"))
    assert pricing.allows_origin(ORIGIN)
    assert not pricing.allows_origin("https://evil.example")
    assert not pricing.allows_origin(None)  # no Origin header: not a page of an allowed origin
    assert pricing.allows_path(PathPattern.parse("/pricing"))
    assert pricing.allows_path(PathPattern.parse("/plans/team"))
    assert pricing.allows_path(PathPattern.parse("/plans/*"))
    assert not pricing.allows_path(PathPattern.parse("/pricing/*"))
    assert not pricing.allows_path(PathPattern.parse("/about"))
    assert not pricing.allows_path(None)  # the whole site: more than the key allows
    anything = key(("*",), ())
    assert anything.allows_origin(None) and anything.allows_origin("https://any.example")
    assert anything.allows_path(None) and anything.allows_path(PathPattern.parse("/x/*"))
    assert key((ORIGIN,), ("/*",)).allows_path(None)  # every page is the whole site


async def test_keys_move_with_an_installation(tmp_path: Path, pg_url: str) -> None:
    """`footfall export` on the embedded tier, `footfall import` into cluster mode: the same
    keys, so the widgets on the site's pages keep working after the move."""
    from footfall import transfer
    from footfall.storage.duckdb_events import DuckDBEventStore
    from footfall.storage.postgres_events import PostgresEventStore

    source = await SqlMetaStore.open(database_url=None, sqlite_path=tmp_path / "meta.sqlite3")
    events = DuckDBEventStore(tmp_path / "events.duckdb")
    target = await SqlMetaStore.open(database_url=pg_url, sqlite_path=tmp_path / "unused")
    target_events = await PostgresEventStore.open(pg_url)
    try:
        site = await source.create_site("example.com", None, 1.0)
        keys = PublishableKeyStore(source)
        kept = await keys.create(site.id, 2.0, origins=[ORIGIN], paths=["/pricing", "/p/*"])
        revoked = await keys.create(site.id, 3.0, origins=["*"], name="old")
        revoked = await keys.revoke(revoked.key, 4.0)
        dump = io.BytesIO()
        await transfer.export_all(source, events, dump, 5.0)
        dump.seek(0)
        await transfer.import_all(target, target_events, dump)
        moved = PublishableKeyStore(target)
        assert await moved.list_keys(site.id) == [kept, revoked]
        grant = await moved.grant(kept.key)
        assert grant is not None and grant.key == kept
        assert await moved.grant(revoked.key) is None
    finally:
        await events.close()
        await target_events.close()
        await source.close()
        await target.close()
