"""`SqlMetaStore`: sites, API tokens and daily salts in SQL (SQLAlchemy Core, async).

One class serves both tiers: SQLite (`data_dir/meta.sqlite3`, WAL mode, aiosqlite) on the
embedded tier and PostgreSQL (asyncpg, pooled) in cluster mode. CLI commands and every server
instance may change the data at any time, so the server caches what the hot paths read (a site
with the digests of its active tokens) and drops that cache as soon as the data changed:

- SQLite: `PRAGMA data_version` moves on every commit made by any other connection, including
  other processes (the CLI).
- PostgreSQL: statement-level triggers bump the single row of `meta_version` on every change
  to sites or to tokens' validity; one indexed read.

Either check is made at most every `recheck_seconds` per process (`FOOTFALL_META_RECHECK_MS`),
not on every request: on PostgreSQL it is a network round trip, and even SQLite's pragma (file
locks on the WAL index: ~5 µs per read measured in a loaded server) was the largest single
step of a realtime request. A site or token created, revoked or deleted through this
process applies to its very next request (`invalidate`); one changed by anyone else applies to
every request starting at least `recheck_seconds` after the change.
Unreachable databases raise `BackendUnavailable("metadata")`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import re
import secrets
import sqlite3
import time
import uuid
import zoneinfo
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any, ParamSpec, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from footfall.auth import tokens
from footfall.errors import BackendUnavailable, NotFoundError
from footfall.storage import migrate
from footfall.storage.models import Site, SiteAuth, TokenInfo
from footfall.storage.schema import api_tokens, meta_version, salts, sites

# Bound the hot-path cache so a flood of random website ids cannot grow memory without limit.
_CACHE_LIMIT = 100_000
# Every website id is a UUID (`create_site` makes uuid4s; imports keep them): anything else is
# refused without a query, and without taking a place in the cache.
_SITE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Write `last_used_at` at most this often per token: a write per request would turn every
# realtime poll into a database commit.
_LAST_USED_RESOLUTION = 60.0

P = ParamSpec("P")
T = TypeVar("T")


def _unavailable(fn: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Turn a lost database connection into `BackendUnavailable("metadata")` (a 503)."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await fn(*args, **kwargs)
        except (sa.exc.OperationalError, sa.exc.InterfaceError, OSError, TimeoutError) as error:
            raise BackendUnavailable("metadata") from error
        except sa.exc.DBAPIError as error:
            if error.connection_invalidated:
                raise BackendUnavailable("metadata") from error
            raise

    return wrapper


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def async_url(url: str) -> str:
    """`postgresql://…` -> `postgresql+asyncpg://…` (other URLs unchanged)."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+asyncpg://" + url[len(plain) :]
    return url


def create_engine(url: str) -> AsyncEngine:
    """An async engine: SQLite files get WAL and a busy timeout, PostgreSQL a checked pool."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url)
        sa.event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
        return engine
    return create_async_engine(
        async_url(url),
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,  # a restarted PostgreSQL costs one failed request, not a restart
        pool_timeout=5,
        connect_args={"timeout": 5, "command_timeout": 10},
    )


def sqlite_url(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{path}"


class _ChangeWatch(Protocol):
    async def version(self) -> int: ...

    def close(self) -> None: ...


class _SqliteWatch:
    """A private sqlite3 connection whose `data_version` reveals commits by anyone else."""

    def __init__(self, path: Path) -> None:
        self._con = sqlite3.connect(path, check_same_thread=False)

    async def version(self) -> int:
        return int(self._con.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        self._con.close()


class _TableWatch:
    """The `meta_version` row that PostgreSQL triggers bump on every relevant change."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def version(self) -> int:
        async with self._engine.connect() as conn:
            value = await conn.scalar(
                sa.select(meta_version.c.version).where(meta_version.c.id == 1)
            )
        return int(value or 0)

    def close(self) -> None:
        pass


def _site(row: Any) -> Site:
    return Site(
        id=row.id,
        domain=row.domain,
        name=row.name,
        created_at=row.created_at,
        timezone=row.timezone,
        allowed_hostnames=tuple(json.loads(row.allowed_hostnames)),
        honor_gpc=bool(row.honor_gpc),
        retention_days=row.retention_days,
        live_min_count=row.live_min_count,
    )


def site_from_row(row: Any) -> Site:
    """A `Site` from a row that carries the columns of `sites` (for stores joining it)."""
    return _site(row)


def _site_values(site: Site) -> dict[str, Any]:
    """The row of `sites` for a site (every column but `deleted_at`)."""
    values = dataclasses.asdict(site)
    values["allowed_hostnames"] = json.dumps(list(site.allowed_hostnames))
    return values


# The settings `update_site` may change, and the check each value must pass.
SITE_SETTINGS = frozenset(
    {"name", "timezone", "allowed_hostnames", "honor_gpc", "retention_days", "live_min_count"}
)


def check_site_settings(site: Site) -> Site:
    """`site` with its settings normalised; ValueError naming the first invalid setting."""
    name = site.name.strip()
    if not name or len(name) > 200:
        raise ValueError("name: must be 1 to 200 characters")
    if site.timezone not in _timezones():
        raise ValueError(f"timezone: unknown time zone {site.timezone!r}; use an IANA name")
    hostnames = []
    for entry in site.allowed_hostnames:
        wildcard = entry.strip().startswith("*.")
        host = normalise_domain(entry.strip().removeprefix("*."))
        hostnames.append(f"*.{host}" if wildcard else host)
    if site.retention_days is not None and not 1 <= site.retention_days <= 36_500:
        raise ValueError("retention_days: must be between 1 and 36500 (or empty to keep all)")
    if not 0 <= site.live_min_count <= 1_000_000:
        raise ValueError("live_min_count: must be between 0 and 1000000")
    return dataclasses.replace(site, name=name, allowed_hostnames=tuple(dict.fromkeys(hostnames)))


@functools.cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


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
    """Sites, tokens and salts in SQLite (embedded) or PostgreSQL (cluster)."""

    name = "metadata"

    def __init__(
        self,
        engine: AsyncEngine,
        watch: _ChangeWatch,
        *,
        recheck_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`recheck_seconds`: read the change watch at most this often (0: on every lookup);
        `clock`: the monotonic clock that interval is measured on."""
        self.engine = engine
        self._watch = watch
        self._auth_cache: dict[str, SiteAuth | None] = {}
        self._token_site_cache: dict[str, str | None] = {}
        self._last_used_written: dict[str, float] = {}
        self._seen_version: int | None = None
        self._recheck_seconds = recheck_seconds
        self._clock = clock
        self._checked_at = float("-inf")  # when the last version read that completed began
        self._pending: tuple[float, asyncio.Future[int]] | None = None  # a read in flight
        self._generation = 0  # moves on every `invalidate`

    @classmethod
    async def open(
        cls,
        *,
        database_url: str | None,
        sqlite_path: Path,
        run_migrations: bool = True,
        recheck_seconds: float = 0.0,
    ) -> SqlMetaStore:
        """Open (and by default migrate) PostgreSQL at `database_url`, else the SQLite file;
        `recheck_seconds` as in the class (0, the default for CLI use: on every lookup)."""
        if database_url:
            engine = create_engine(database_url)
            watch: _ChangeWatch = _TableWatch(engine)
        else:
            engine = create_engine(sqlite_url(sqlite_path))
            watch = _SqliteWatch(sqlite_path)
        store = cls(engine, watch, recheck_seconds=recheck_seconds)
        if run_migrations:
            await store.migrate()
        return store

    @_unavailable
    async def migrate(self) -> None:
        await migrate.upgrade(self.engine)

    async def close(self) -> None:
        self._watch.close()
        await self.engine.dispose()

    # -- change detection -------------------------------------------------------------------

    @_unavailable
    async def ping(self) -> None:
        """Raise `BackendUnavailable` if the database cannot answer a trivial query."""
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    @_unavailable
    async def change_count(self) -> int:
        """A number that moves whenever this store drops its cache: at once for a change made
        through it, within `recheck_seconds` for one made by anyone else. Caches kept outside
        this class (publishable keys) compare it to drop what they hold when this store does,
        without reading the change watch themselves."""
        await self._refresh_if_changed()
        return self._generation

    @property
    def generation(self) -> int:
        """`change_count` as last noticed, without checking for changes (no I/O)."""
        return self._generation

    async def _refresh_if_changed(self) -> None:
        if self._recheck_seconds <= 0:
            version = await self._watch.version()
        else:
            now = self._clock()
            if now - self._checked_at < self._recheck_seconds:
                return
            started, version = await self._shared_read(now)
            # The read saw every change committed before it began: the cache is as fresh as
            # `started`.
            self._checked_at = max(self._checked_at, started)
        if version != self._seen_version:
            self._seen_version = version
            self.invalidate()

    async def _shared_read(self, now: float) -> tuple[float, int]:
        """Read the version, or join a read begun less than `recheck_seconds` ago; returns
        when the read began and the version.

        One read serves every lookup arriving while it runs: without that, each of them would
        start its own once the interval ran out and, with more lookups in flight than pooled
        connections, they would wait on the pool and open new connections, which makes each
        read slower still, so more lookups pile up behind it.
        """
        pending = self._pending
        if pending is None or now - pending[0] >= self._recheck_seconds:
            task = asyncio.ensure_future(self._watch.version())
            # Retrieve a failure even if every waiter was cancelled (no "never retrieved").
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            pending = self._pending = (now, task)
            task.add_done_callback(lambda _t: self._forget_read(pending))
        # Shielded: a waiter cancelled (its client gone) must not cancel the others' read.
        return pending[0], await asyncio.shield(pending[1])

    def _forget_read(self, pending: tuple[float, asyncio.Future[int]]) -> None:
        if self._pending is pending:
            self._pending = None

    def invalidate(self) -> None:
        """Forget every cached lookup (after a change made through this process), and keep
        lookups already reading the database from caching what they read."""
        self._generation += 1
        self._auth_cache.clear()
        self._token_site_cache.clear()

    # -- sites ------------------------------------------------------------------------------

    @_unavailable
    async def create_site(self, domain: str, name: str | None, now: float, **settings: Any) -> Site:
        """A new site; `settings` are any of `SITE_SETTINGS` (ValueError if invalid)."""
        host = normalise_domain(domain)
        unknown = set(settings) - SITE_SETTINGS
        if unknown:
            raise ValueError(f"unknown site settings: {', '.join(sorted(unknown))}")
        site = check_site_settings(
            Site(id=str(uuid.uuid4()), domain=host, name=name or host, created_at=now, **settings)
        )
        async with self.engine.begin() as conn:
            await conn.execute(sites.insert().values(**_site_values(site)))
        self.invalidate()
        return site

    @_unavailable
    async def update_site(self, site_id: str, **changes: Any) -> Site:
        """Change some of a live site's `SITE_SETTINGS`; returns the site as now stored.

        Raises NotFoundError for an unknown or deleted site, ValueError for invalid values.
        """
        unknown = set(changes) - SITE_SETTINGS
        if unknown:
            raise ValueError(f"unknown site settings: {', '.join(sorted(unknown))}")
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    sites.select().where(sites.c.id == site_id, sites.c.deleted_at.is_(None))
                )
            ).first()
            if row is None:
                raise NotFoundError(f"no site with id {site_id}")
            site = check_site_settings(dataclasses.replace(_site(row), **changes))
            values = _site_values(site)
            await conn.execute(
                sites.update()
                .where(sites.c.id == site_id)
                .values({key: values[key] for key in changes})
            )
        self.invalidate()
        return site

    @_unavailable
    async def list_sites(self) -> list[Site]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sites.select().where(sites.c.deleted_at.is_(None)).order_by(sites.c.created_at)
            )
            return [_site(row) for row in rows]

    async def get_site(self, site_id: str) -> Site | None:
        auth = await self.site_auth(site_id)
        return auth.site if auth else None

    @_unavailable
    async def find_sites_by_domain(self, domain: str) -> list[Site]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sites.select().where(
                    sites.c.domain == normalise_domain(domain), sites.c.deleted_at.is_(None)
                )
            )
            return [_site(row) for row in rows]

    @_unavailable
    async def delete_site(self, site_id: str, now: float) -> None:
        """Mark a site deleted: it stops answering at once; its events are purged later."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                sites.update()
                .where(sites.c.id == site_id, sites.c.deleted_at.is_(None))
                .values(deleted_at=now)
            )
            if result.rowcount == 0:
                raise NotFoundError(f"no site with id {site_id}")
            await conn.execute(
                api_tokens.update()
                .where(api_tokens.c.site_id == site_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        self.invalidate()

    @_unavailable
    async def deleted_site_ids(self) -> list[str]:
        async with self.engine.connect() as conn:
            result = await conn.scalars(sa.select(sites.c.id).where(sites.c.deleted_at.isnot(None)))
            return list(result)

    @_unavailable
    async def forget_sites(self, site_ids: Iterable[str]) -> None:
        """Remove deleted sites' rows for good (once their events are purged)."""
        ids = list(site_ids)
        if not ids:
            return
        async with self.engine.begin() as conn:
            await conn.execute(api_tokens.delete().where(api_tokens.c.site_id.in_(ids)))
            await conn.execute(
                sites.delete().where(sites.c.id.in_(ids), sites.c.deleted_at.isnot(None))
            )
        self.invalidate()

    # -- hot path ---------------------------------------------------------------------------

    @_unavailable
    async def site_auth(self, site_id: str) -> SiteAuth | None:
        """The site and its active token digests, or None; cached until the data changes."""
        await self._refresh_if_changed()
        try:
            return self._auth_cache[site_id]
        except KeyError:
            pass
        if not _SITE_ID.fullmatch(site_id):
            return None
        generation = self._generation
        auth = await self._load_site_auth(site_id)
        # Cached only if no change was noticed while it loaded: the rows read may predate it.
        if generation == self._generation:
            if len(self._auth_cache) >= _CACHE_LIMIT:
                self._auth_cache.clear()
            self._auth_cache[site_id] = auth
        return auth

    @_unavailable
    async def site_auth_for_token(self, token_hash: str) -> SiteAuth | None:
        """The site an active token (by digest) belongs to, with its tokens; cached."""
        await self._refresh_if_changed()
        if token_hash in self._token_site_cache:
            site_id = self._token_site_cache[token_hash]
        else:
            generation = self._generation
            async with self.engine.connect() as conn:
                site_id = await conn.scalar(
                    sa.select(api_tokens.c.site_id).where(
                        api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None)
                    )
                )
            if generation == self._generation:  # as in `site_auth`
                if len(self._token_site_cache) >= _CACHE_LIMIT:
                    self._token_site_cache.clear()
                self._token_site_cache[token_hash] = site_id
        return await self.site_auth(site_id) if site_id is not None else None

    async def _load_site_auth(self, site_id: str) -> SiteAuth | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sites.select().where(sites.c.id == site_id, sites.c.deleted_at.is_(None))
                )
            ).first()
            if row is None:
                return None
            token_rows = await conn.execute(
                sa.select(api_tokens.c.id, api_tokens.c.token_hash).where(
                    api_tokens.c.site_id == site_id, api_tokens.c.revoked_at.is_(None)
                )
            )
            return SiteAuth(site=_site(row), tokens=tuple((r.token_hash, r.id) for r in token_rows))

    @_unavailable
    async def note_token_used(self, token_id: str, now: float) -> None:
        """Record that a token was used (at most once a minute per token and process)."""
        last = self._last_used_written.get(token_id)
        if last is not None and now - last < _LAST_USED_RESOLUTION:
            return
        self._last_used_written[token_id] = now
        async with self.engine.begin() as conn:
            await conn.execute(
                api_tokens.update().where(api_tokens.c.id == token_id).values(last_used_at=now)
            )

    # -- tokens -----------------------------------------------------------------------------

    @_unavailable
    async def create_token(self, site_id: str, now: float, name: str = "") -> tuple[str, TokenInfo]:
        """A new token for the site: returns the secret (shown once) and its public record."""
        if await self.get_site(site_id) is None:
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
        async with self.engine.begin() as conn:
            await conn.execute(
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

    @_unavailable
    async def list_tokens(self, site_id: str) -> list[TokenInfo]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                api_tokens.select()
                .where(api_tokens.c.site_id == site_id)
                .order_by(api_tokens.c.created_at)
            )
            return [_token(row) for row in rows]

    @_unavailable
    async def revoke_token(self, token_ref: str, now: float) -> TokenInfo:
        """Revoke by token id, display prefix or the full secret; returns the revoked token."""
        ref = token_ref.strip()
        condition = sa.or_(api_tokens.c.id == ref, api_tokens.c.prefix == ref)
        if tokens.is_well_formed(ref):
            condition = api_tokens.c.token_hash == tokens.hash_token(ref)
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    api_tokens.select().where(condition, api_tokens.c.revoked_at.is_(None))
                )
            ).all()
            if not rows:
                # Never echo what may be a (mistyped) secret: only its display prefix.
                prefix = tokens.display_prefix(ref)
                secret_like = ref.startswith(tokens.PREFIX) and len(ref) > len(prefix)
                shown = prefix + "…" if secret_like else ref
                raise NotFoundError(f"no active token matches {shown}")
            if len(rows) > 1:
                raise NotFoundError(f"{ref} matches several tokens; give the token id")
            await conn.execute(
                api_tokens.update().where(api_tokens.c.id == rows[0].id).values(revoked_at=now)
            )
        self.invalidate()
        return dataclasses.replace(_token(rows[0]), revoked_at=now)

    @_unavailable
    async def rotate_token(
        self, site_id: str, token_id: str, now: float
    ) -> tuple[str, TokenInfo, TokenInfo]:
        """Replace an active token of the site by a new one with the same name, in one
        transaction: returns the new secret, the new token and the revoked one.

        NotFoundError unless `token_id` is an active token of `site_id`.
        """
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    api_tokens.select().where(
                        api_tokens.c.id == token_id,
                        api_tokens.c.site_id == site_id,
                        api_tokens.c.revoked_at.is_(None),
                    )
                )
            ).first()
            if row is None:
                raise NotFoundError(f"no active token {token_id} for site {site_id}")
            secret = tokens.generate_token()
            info = TokenInfo(
                id=secrets.token_hex(8),
                site_id=site_id,
                prefix=tokens.display_prefix(secret),
                name=row.name,
                created_at=now,
                last_used_at=None,
                revoked_at=None,
            )
            await conn.execute(
                api_tokens.insert().values(
                    id=info.id,
                    site_id=site_id,
                    token_hash=tokens.hash_token(secret),
                    prefix=info.prefix,
                    name=info.name,
                    created_at=now,
                )
            )
            await conn.execute(
                api_tokens.update().where(api_tokens.c.id == token_id).values(revoked_at=now)
            )
        self.invalidate()
        return secret, info, dataclasses.replace(_token(row), revoked_at=now)

    # -- moving installations ---------------------------------------------------------------

    @_unavailable
    async def export_sites(self) -> list[tuple[Site, list[tuple[TokenInfo, str]]]]:
        """Every live site with its tokens and their digests (for `footfall export`)."""
        result = []
        async with self.engine.connect() as conn:
            for site in await self.list_sites():
                rows = await conn.execute(
                    api_tokens.select()
                    .where(api_tokens.c.site_id == site.id)
                    .order_by(api_tokens.c.created_at)
                )
                result.append((site, [(_token(row), row.token_hash) for row in rows]))
        return result

    @_unavailable
    async def import_site(self, site: Site, site_tokens: list[tuple[TokenInfo, str]]) -> None:
        """Insert a site and its tokens as exported (same ids, same digests)."""
        async with self.engine.begin() as conn:
            existing = await conn.scalar(sa.select(sites.c.id).where(sites.c.id == site.id))
            if existing is not None:
                raise ValueError(f"site {site.id} already exists here; import into a new one")
            await conn.execute(sites.insert().values(**_site_values(site)))
            for info, digest in site_tokens:
                await conn.execute(
                    api_tokens.insert().values(
                        id=info.id,
                        site_id=site.id,
                        token_hash=digest,
                        prefix=info.prefix,
                        name=info.name,
                        created_at=info.created_at,
                        last_used_at=info.last_used_at,
                        revoked_at=info.revoked_at,
                    )
                )
        self.invalidate()

    # -- salts ------------------------------------------------------------------------------

    @_unavailable
    async def salts_for(self, today: str, yesterday: str) -> tuple[bytes, bytes | None]:
        """Today's salt (created on first use, the same for every process) and yesterday's.

        Salts older than yesterday are deleted: once gone, visitor ids of those days can never
        be recomputed from an IP address and user agent.
        """
        async with self.engine.begin() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            # Insert-or-ignore so processes racing at midnight agree on one salt.
            await conn.execute(
                dialect.insert(salts)
                .values(day=today, salt=secrets.token_bytes(32), created_at=0.0)
                .on_conflict_do_nothing(index_elements=["day"])
            )
            current = await conn.scalar(sa.select(salts.c.salt).where(salts.c.day == today))
            previous = await conn.scalar(sa.select(salts.c.salt).where(salts.c.day == yesterday))
            await conn.execute(salts.delete().where(salts.c.day < yesterday))
        if current is None:  # impossible after the insert-or-ignore, unless the row vanished
            raise RuntimeError(f"salt for {today} missing")
        return bytes(current), (bytes(previous) if previous is not None else None)
