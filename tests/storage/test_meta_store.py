"""`SqlMetaStore` on SQLite: caching that never goes stale, soft delete, salts, migrations."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from footfall.auth import tokens
from footfall.errors import NotFoundError
from footfall.storage import migrate
from footfall.storage.meta import SqlMetaStore, normalise_domain, sqlite_engine


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "meta.sqlite3"


def test_changes_by_another_connection_are_seen_at_once(path: Path) -> None:
    server = SqlMetaStore.open_sqlite(path)
    cli = SqlMetaStore.open_sqlite(path)  # another "process"
    site = cli.create_site("example.com", None, 1.0)
    assert server.site_auth(site.id) is not None
    assert server.site_auth(site.id).tokens == ()  # cached now
    token, info = cli.create_token(site.id, 2.0)
    auth = server.site_auth(site.id)
    assert auth is not None and auth.tokens == ((tokens.hash_token(token), info.id),)
    assert server.site_auth_for_token(tokens.hash_token(token)) == auth
    cli.revoke_token(info.prefix, 3.0)
    assert server.site_auth(site.id).tokens == ()
    assert server.site_auth_for_token(tokens.hash_token(token)) is None
    cli.delete_site(site.id, 4.0)
    assert server.site_auth(site.id) is None
    server.close()
    cli.close()


def test_unknown_site_is_cached_negatively_until_a_change(path: Path) -> None:
    store = SqlMetaStore.open_sqlite(path)
    assert store.site_auth("nope") is None
    assert "nope" in store._auth_cache
    store.create_site("example.com", None, 1.0)
    assert store.site_auth("nope") is None
    store.close()


def test_soft_delete_then_forget(path: Path) -> None:
    store = SqlMetaStore.open_sqlite(path)
    site = store.create_site("example.com", None, 1.0)
    store.create_token(site.id, 1.0)
    store.delete_site(site.id, 2.0)
    assert store.list_sites() == []
    assert store.deleted_site_ids() == [site.id]
    with pytest.raises(NotFoundError):
        store.delete_site(site.id, 3.0)
    with pytest.raises(NotFoundError):
        store.create_token(site.id, 3.0)
    store.forget_sites([site.id])
    assert store.deleted_site_ids() == []
    assert store.list_tokens(site.id) == []
    store.close()


def test_revoke_is_refused_when_ambiguous_or_unknown(path: Path) -> None:
    store = SqlMetaStore.open_sqlite(path)
    site = store.create_site("example.com", None, 1.0)
    with pytest.raises(NotFoundError):
        store.revoke_token("vt_nothing", 1.0)
    token, info = store.create_token(site.id, 1.0)
    revoked = store.revoke_token(token, 2.0)
    assert revoked.id == info.id and revoked.revoked_at == 2.0
    with pytest.raises(NotFoundError):
        store.revoke_token(token, 3.0)  # already revoked
    store.close()


def test_salts_are_created_once_per_day_and_pruned(path: Path) -> None:
    store = SqlMetaStore.open_sqlite(path)
    other = SqlMetaStore.open_sqlite(path)
    today, previous = store.salts_for("2026-01-02", "2026-01-01")
    assert previous is None and len(today) == 32
    assert other.salts_for("2026-01-02", "2026-01-01") == (today, None)
    tomorrow, previous = store.salts_for("2026-01-03", "2026-01-02")
    assert previous == today and tomorrow != today
    store.salts_for("2026-01-04", "2026-01-03")
    with store.engine.connect() as conn:
        days = sorted(conn.scalars(sa.text("SELECT day FROM salts")))
    assert days == ["2026-01-03", "2026-01-04"]
    store.close()
    other.close()


def test_migrations_are_idempotent(path: Path) -> None:
    engine = sqlite_engine(path)
    migrate.upgrade(engine)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == "0001"
    assert {"sites", "api_tokens", "salts"} <= set(sa.inspect(engine).get_table_names())
    engine.dispose()


def test_migrations_match_the_schema(path: Path) -> None:
    """The Alembic revision and `schema.py` describe the same tables (autogenerate is empty)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from footfall.storage.schema import metadata

    engine = sqlite_engine(path)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


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
