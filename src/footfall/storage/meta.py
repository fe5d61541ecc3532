"""`MetaStore`: sites, API tokens and daily salts in SQL (SQLAlchemy Core).

The embedded tier keeps them in SQLite (`data_dir/meta.sqlite3`, WAL mode) so CLI commands can
change them while the server runs. The server caches what the hot paths read (a site with the
digests of its active tokens) and drops that cache whenever the database changed: SQLite's
`PRAGMA data_version` moves on every commit made by any other connection, including other
processes, so a site or token created or revoked from the CLI takes effect on the very next
request, and the check costs a few microseconds.

This module knows nothing of HTTP; it raises `NotFoundError` for unknown ids.
"""

from __future__ import annotations

import dataclasses
import secrets
import sqlite3
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from footfall.auth import tokens
from footfall.errors import NotFoundError
from footfall.storage import migrate
from footfall.storage.models import Site, SiteAuth, TokenInfo
from footfall.storage.schema import api_tokens, salts, sites

# Bound the hot-path cache so a flood of random website ids cannot grow memory without limit.
_CACHE_LIMIT = 100_000
# Write `last_used_at` at most this often per token: a write per request would turn every
# realtime poll into a database commit.
_LAST_USED_RESOLUTION = 60.0


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def sqlite_engine(path: Path) -> Engine:
    """An engine on the SQLite file at `path` with WAL, a busy timeout and foreign keys."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Pool connections may be used from worker threads (one user at a time).
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False})
    sa.event.listen(engine, "connect", _set_sqlite_pragmas)
    return engine


def _site(row: Any) -> Site:
    return Site(id=row.id, domain=row.domain, name=row.name, created_at=row.created_at)


def _token(row: Any) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        site_id=row.site_id,
        prefix=row.prefix,
        name=row.name,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def normalise_domain(domain: str) -> str:
    """`https://www.Example.com/` -> `www.example.com`: the bare host a site is tracked on."""
    value = domain.strip().lower()
    for scheme in ("https://", "http://"):
        if value.startswith(scheme):
            value = value[len(scheme) :]
    value = value.split("/", 1)[0].split(":", 1)[0]
    if not value or any(ch.isspace() for ch in value):
        raise ValueError(f"not a domain: {domain!r}")
    return value


class SqlMetaStore:
    """Sites, tokens and salts in a SQL database; the SQLite flavour of the embedded tier."""

    def __init__(self, engine: Engine, *, sqlite_path: Path | None = None) -> None:
        self.engine = engine
        self._auth_cache: dict[str, SiteAuth | None] = {}
        self._token_site_cache: dict[str, str | None] = {}
        self._last_used_written: dict[str, float] = {}
        # A private connection whose data_version reveals commits by anyone else.
        self._watch: sqlite3.Connection | None = (
            sqlite3.connect(sqlite_path, check_same_thread=False) if sqlite_path else None
        )
        self._seen_version = self._data_version()

    @classmethod
    def open_sqlite(cls, path: Path, *, run_migrations: bool = True) -> SqlMetaStore:
        """Open (and by default migrate) the embedded metadata database."""
        engine = sqlite_engine(path)
        if run_migrations:
            migrate.upgrade(engine)
        return cls(engine, sqlite_path=path)

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
        self.engine.dispose()

    # -- change detection -------------------------------------------------------------------

    def _data_version(self) -> int:
        if self._watch is None:
            return 0
        return int(self._watch.execute("PRAGMA data_version").fetchone()[0])

    def _refresh_if_changed(self) -> None:
        version = self._data_version()
        if version != self._seen_version:
            self._seen_version = version
            self.invalidate()

    def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def invalidate(self) -> None:
        """Forget every cached lookup (after a change made through this process)."""
        self._auth_cache.clear()
        self._token_site_cache.clear()

    # -- sites ------------------------------------------------------------------------------

    def create_site(self, domain: str, name: str | None, now: float) -> Site:
        host = normalise_domain(domain)
        site = Site(id=str(uuid.uuid4()), domain=host, name=name or host, created_at=now)
        with self.engine.begin() as conn:
            conn.execute(
                sites.insert().values(
                    id=site.id, domain=site.domain, name=site.name, created_at=now
                )
            )
        self.invalidate()
        return site

    def list_sites(self) -> list[Site]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sites.select().where(sites.c.deleted_at.is_(None)).order_by(sites.c.created_at)
            )
            return [_site(row) for row in rows]

    def get_site(self, site_id: str) -> Site | None:
        auth = self.site_auth(site_id)
        return auth.site if auth else None

    def find_sites_by_domain(self, domain: str) -> list[Site]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sites.select().where(
                    sites.c.domain == normalise_domain(domain), sites.c.deleted_at.is_(None)
                )
            )
            return [_site(row) for row in rows]

    def delete_site(self, site_id: str, now: float) -> None:
        """Mark a site deleted: it stops answering at once; its events are purged later."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sites.update()
                .where(sites.c.id == site_id, sites.c.deleted_at.is_(None))
                .values(deleted_at=now)
            )
            if result.rowcount == 0:
                raise NotFoundError(f"no site with id {site_id}")
            conn.execute(
                api_tokens.update()
                .where(api_tokens.c.site_id == site_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        self.invalidate()

    def deleted_site_ids(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.scalars(sa.select(sites.c.id).where(sites.c.deleted_at.isnot(None))))

    def forget_sites(self, site_ids: Iterable[str]) -> None:
        """Remove deleted sites' rows for good (once their events are purged)."""
        ids = list(site_ids)
        if not ids:
            return
        with self.engine.begin() as conn:
            conn.execute(api_tokens.delete().where(api_tokens.c.site_id.in_(ids)))
            conn.execute(sites.delete().where(sites.c.id.in_(ids), sites.c.deleted_at.isnot(None)))
        self.invalidate()

    # -- hot path ---------------------------------------------------------------------------

    def site_auth(self, site_id: str) -> SiteAuth | None:
        """The site and its active token digests, or None; cached until the database changes."""
        self._refresh_if_changed()
        try:
            return self._auth_cache[site_id]
        except KeyError:
            pass
        auth = self._load_site_auth(site_id)
        if len(self._auth_cache) >= _CACHE_LIMIT:
            self._auth_cache.clear()
        self._auth_cache[site_id] = auth
        return auth

    def site_auth_for_token(self, token_hash: str) -> SiteAuth | None:
        """The site an active token (by digest) belongs to, with its tokens; cached."""
        self._refresh_if_changed()
        if token_hash in self._token_site_cache:
            site_id = self._token_site_cache[token_hash]
        else:
            with self.engine.connect() as conn:
                site_id = conn.execute(
                    sa.select(api_tokens.c.site_id).where(
                        api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None)
                    )
                ).scalar()
            if len(self._token_site_cache) >= _CACHE_LIMIT:
                self._token_site_cache.clear()
            self._token_site_cache[token_hash] = site_id
        return self.site_auth(site_id) if site_id is not None else None

    def _load_site_auth(self, site_id: str) -> SiteAuth | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sites.select().where(sites.c.id == site_id, sites.c.deleted_at.is_(None))
            ).first()
            if row is None:
                return None
            token_rows = conn.execute(
                sa.select(api_tokens.c.id, api_tokens.c.token_hash).where(
                    api_tokens.c.site_id == site_id, api_tokens.c.revoked_at.is_(None)
                )
            )
            return SiteAuth(site=_site(row), tokens=tuple((r.token_hash, r.id) for r in token_rows))

    def note_token_used(self, token_id: str, now: float) -> None:
        """Record that a token was used (at most once a minute per token)."""
        last = self._last_used_written.get(token_id)
        if last is not None and now - last < _LAST_USED_RESOLUTION:
            return
        self._last_used_written[token_id] = now
        with self.engine.begin() as conn:
            conn.execute(
                api_tokens.update().where(api_tokens.c.id == token_id).values(last_used_at=now)
            )

    # -- tokens -----------------------------------------------------------------------------

    def create_token(self, site_id: str, now: float, name: str = "") -> tuple[str, TokenInfo]:
        """A new token for the site: returns the secret (shown once) and its public record."""
        if self.get_site(site_id) is None:
            raise NotFoundError(f"no site with id {site_id}")
        secret = tokens.generate_token()
        info = TokenInfo(
            id=secrets.token_hex(8),
            site_id=site_id,
            prefix=tokens.display_prefix(secret),
            name=name,
            created_at=now,
            last_used_at=None,
            revoked_at=None,
        )
        with self.engine.begin() as conn:
            conn.execute(
                api_tokens.insert().values(
                    id=info.id,
                    site_id=site_id,
                    token_hash=tokens.hash_token(secret),
                    prefix=info.prefix,
                    name=name,
                    created_at=now,
                )
            )
        self.invalidate()
        return secret, info

    def list_tokens(self, site_id: str) -> list[TokenInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                api_tokens.select()
                .where(api_tokens.c.site_id == site_id)
                .order_by(api_tokens.c.created_at)
            )
            return [_token(row) for row in rows]

    def revoke_token(self, token_ref: str, now: float) -> TokenInfo:
        """Revoke by token id, display prefix or the full secret; returns the revoked token."""
        ref = token_ref.strip()
        condition = sa.or_(api_tokens.c.id == ref, api_tokens.c.prefix == ref)
        if tokens.is_well_formed(ref):
            condition = api_tokens.c.token_hash == tokens.hash_token(ref)
        with self.engine.begin() as conn:
            rows = conn.execute(
                api_tokens.select().where(condition, api_tokens.c.revoked_at.is_(None))
            ).all()
            if not rows:
                # Never echo what may be a (mistyped) secret: only its display prefix.
                secret_like = ref.startswith(tokens.PREFIX) and len(ref) > len(
                    tokens.display_prefix(ref)
                )
                shown = tokens.display_prefix(ref) + "…" if secret_like else ref
                raise NotFoundError(f"no active token matches {shown}")
            if len(rows) > 1:
                raise NotFoundError(f"{ref} matches several tokens; give the token id")
            conn.execute(
                api_tokens.update().where(api_tokens.c.id == rows[0].id).values(revoked_at=now)
            )
        self.invalidate()
        return dataclasses.replace(_token(rows[0]), revoked_at=now)

    # -- salts ------------------------------------------------------------------------------

    def salts_for(self, today: str, yesterday: str) -> tuple[bytes, bytes | None]:
        """Today's salt (created on first use, the same for every process) and yesterday's.

        Salts older than yesterday are deleted: once gone, visitor ids of those days can never
        be recomputed from an IP address and user agent.
        """
        with self.engine.begin() as conn:
            existing = conn.execute(sa.select(salts.c.salt).where(salts.c.day == today)).scalar()
            if existing is None:
                # INSERT-or-ignore so two processes racing at midnight agree on one salt.
                insert = sa.insert(salts).values(
                    day=today, salt=secrets.token_bytes(32), created_at=0.0
                )
                conn.execute(insert.prefix_with("OR IGNORE", dialect="sqlite"))
                existing = conn.execute(
                    sa.select(salts.c.salt).where(salts.c.day == today)
                ).scalar_one()
            previous = conn.execute(
                sa.select(salts.c.salt).where(salts.c.day == yesterday)
            ).scalar()
            conn.execute(salts.delete().where(salts.c.day < yesterday))
        return bytes(existing), (bytes(previous) if previous is not None else None)
