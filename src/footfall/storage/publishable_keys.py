"""`PublishableKeyStore`: a site's publishable (`pk_`) keys, and the live endpoints' key check.

Keys live in the `publishable_keys` table of the metadata database, beside the sites and API
tokens of `SqlMetaStore`, and follow the same caching rule: the server caches what the live
endpoints read (a key with its site's live settings) and drops the whole cache whenever the
metadata store drops its own (`SqlMetaStore.change_count`: a change through this process at
once, one from the CLI or another instance within `FOOTFALL_META_RECHECK_MS`; PostgreSQL
triggers bump the watched version when keys or sites change). A key created, changed or revoked
from the dashboard therefore applies to the next request, and from the CLI or another instance
within that interval.

What a key allows is decided here, in one place (`PublishableKey.allows_origin`,
`allows_path`); the HTTP layer only turns the answers into status codes.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from footfall.auth import publishable
from footfall.errors import NotFoundError
from footfall.realtime.paths import PathPattern
from footfall.storage.meta import SqlMetaStore
from footfall.storage.meta import _unavailable as unavailable
from footfall.storage.schema import publishable_keys, sites

# Bound the cache so a flood of random keys cannot grow memory without limit.
_CACHE_LIMIT = 100_000
# Write `last_used_at` at most this often per key: widgets poll and reconnect all day.
_LAST_USED_RESOLUTION = 60.0


@dataclass(frozen=True, slots=True)
class PublishableKey:
    """A publishable key and what it may read. `allowed_paths` empty: any path and the
    site-wide count; `allowed_origins` holds normal-form origins, or `*` for any."""

    id: str
    site_id: str
    key: str
    name: str
    allowed_origins: tuple[str, ...]
    allowed_paths: tuple[PathPattern, ...]
    created_at: float
    last_used_at: float | None
    revoked_at: float | None

    def allows_origin(self, origin: str | None) -> bool:
        """True for a request from `origin` (normal form; None when the request had none)."""
        if publishable.ANY_ORIGIN in self.allowed_origins:
            return True
        return origin is not None and origin in self.allowed_origins

    def allows_path(self, pattern: PathPattern | None) -> bool:
        """True when the key may read the count of `pattern` (None: the whole site)."""
        if not self.allowed_paths:
            return True
        wanted = pattern or PathPattern("/", prefix=True)
        return any(allowed.covers(wanted) for allowed in self.allowed_paths)


@dataclass(frozen=True, slots=True)
class LiveGrant:
    """An active key of a live site, with the site's minimum public live count."""

    key: PublishableKey
    live_min_count: int


def check_key_settings(
    origins: Iterable[str], paths: Iterable[str]
) -> tuple[tuple[str, ...], tuple[PathPattern, ...]]:
    """Origins and path patterns in normal form, deduplicated; ValueError naming the first
    invalid one. At least one origin is required (`*` for any, a deliberate choice)."""
    normal = tuple(dict.fromkeys(publishable.normalise_origin(o) for o in origins))
    if not normal:
        raise ValueError("origins: give at least one origin (https://host), or * for any")
    patterns = []
    for text in paths:
        try:
            patterns.append(PathPattern.parse(text.strip()))
        except ValueError as error:
            raise ValueError(f"path {text!r}: {error}") from None
    return normal, tuple(dict.fromkeys(patterns))


def key_record(key: PublishableKey) -> dict[str, Any]:
    """A key as plain JSON values (`footfall export`); `key_from_record` reads it back."""
    record = dataclasses.asdict(key)
    record["allowed_origins"] = list(key.allowed_origins)
    record["allowed_paths"] = [str(p) for p in key.allowed_paths]
    return record


def key_from_record(record: dict[str, Any]) -> PublishableKey:
    fields = {f.name for f in dataclasses.fields(PublishableKey)}
    values = {name: record[name] for name in fields}
    values["allowed_origins"] = tuple(record["allowed_origins"])
    values["allowed_paths"] = tuple(PathPattern.parse(p) for p in record["allowed_paths"])
    return PublishableKey(**values)


def _key(row: Any) -> PublishableKey:
    return PublishableKey(
        id=row.id,
        site_id=row.site_id,
        key=row.key,
        name=row.name,
        allowed_origins=tuple(json.loads(row.allowed_origins)),
        allowed_paths=tuple(PathPattern.parse(p) for p in json.loads(row.allowed_paths)),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


class PublishableKeyStore:
    """Create, list and revoke publishable keys; check them on the live endpoints (cached)."""

    def __init__(self, meta: SqlMetaStore) -> None:
        self._meta = meta
        self._engine = meta.engine
        self._grants: dict[str, LiveGrant | None] = {}
        self._seen_version: int | None = None
        self._checked_at = float("-inf")
        self._last_used_written: dict[str, float] = {}

    # -- the live endpoints' check ------------------------------------------------------------

    @unavailable
    async def grant(self, key: str, *, max_age: float = 0.0) -> LiveGrant | None:
        """The grant of an active key of a live site, or None (unknown, revoked, site deleted).

        Cached; dropped when the metadata store drops its cache (`change_count`), asked on
        every call or at most every `max_age` seconds: open streams re-check their key that
        way at each heartbeat.
        """
        await self._refresh_if_changed(max_age)
        try:
            return self._grants[key]
        except KeyError:
            pass
        generation = self._meta.generation
        grant = await self._load_grant(key) if publishable.is_well_formed(key) else None
        # Cached only if no change was noticed while it loaded: the row read may predate it.
        if generation == self._meta.generation:
            if len(self._grants) >= _CACHE_LIMIT:
                self._grants.clear()
            self._grants[key] = grant
        return grant

    async def _refresh_if_changed(self, max_age: float) -> None:
        now = time.monotonic()
        if now - self._checked_at < max_age:
            return
        version = await self._meta.change_count()
        self._checked_at = now
        if version != self._seen_version:
            self._seen_version = version
            self._grants.clear()

    async def _load_grant(self, key: str) -> LiveGrant | None:
        query = (
            sa.select(publishable_keys, sites.c.live_min_count)
            .join(sites, sites.c.id == publishable_keys.c.site_id)
            .where(
                publishable_keys.c.key == key,
                publishable_keys.c.revoked_at.is_(None),
                sites.c.deleted_at.is_(None),
            )
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else LiveGrant(_key(row), row.live_min_count)

    @unavailable
    async def note_used(self, key_id: str, now: float) -> None:
        """Record that a key was used (at most once a minute per key and process)."""
        last = self._last_used_written.get(key_id)
        if last is not None and now - last < _LAST_USED_RESOLUTION:
            return
        self._last_used_written[key_id] = now
        async with self._engine.begin() as conn:
            await conn.execute(
                publishable_keys.update()
                .where(publishable_keys.c.id == key_id)
                .values(last_used_at=now)
            )

    def invalidate(self) -> None:
        """Forget every cached key (after a change made through this process)."""
        self._grants.clear()

    # -- management (CLI, dashboard) ----------------------------------------------------------

    @unavailable
    async def create(
        self,
        site_id: str,
        now: float,
        *,
        origins: Iterable[str],
        paths: Iterable[str] = (),
        name: str = "",
    ) -> PublishableKey:
        """A new key for a live site. ValueError for an invalid origin, path or name;
        NotFoundError for an unknown or deleted site."""
        allowed_origins, allowed_paths = check_key_settings(origins, paths)
        name = name.strip()
        if len(name) > 200:
            raise ValueError("name: must be at most 200 characters")
        if await self._meta.get_site(site_id) is None:
            raise NotFoundError(f"no site with id {site_id}")
        key = PublishableKey(
            id=secrets.token_hex(8),
            site_id=site_id,
            key=publishable.generate_key(),
            name=name,
            allowed_origins=allowed_origins,
            allowed_paths=allowed_paths,
            created_at=now,
            last_used_at=None,
            revoked_at=None,
        )
        async with self._engine.begin() as conn:
            await conn.execute(
                publishable_keys.insert().values(
                    id=key.id,
                    site_id=site_id,
                    key=key.key,
                    name=name,
                    allowed_origins=json.dumps(list(allowed_origins)),
                    allowed_paths=json.dumps([str(p) for p in allowed_paths]),
                    created_at=now,
                )
            )
        self.invalidate()
        return key

    @unavailable
    async def list_keys(self, site_id: str) -> list[PublishableKey]:
        """Every key of the site, revoked ones included, oldest first; NotFoundError for an
        unknown or deleted site."""
        if await self._meta.get_site(site_id) is None:
            raise NotFoundError(f"no site with id {site_id}")
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                publishable_keys.select()
                .where(publishable_keys.c.site_id == site_id)
                .order_by(publishable_keys.c.created_at)
            )
            return [_key(row) for row in rows]

    @unavailable
    async def import_keys(self, keys: Iterable[PublishableKey]) -> int:
        """Insert keys as exported, same ids and keys (`footfall import`); returns how many."""
        rows = [
            {
                **dataclasses.asdict(key),
                "allowed_origins": json.dumps(list(key.allowed_origins)),
                "allowed_paths": json.dumps([str(p) for p in key.allowed_paths]),
            }
            for key in keys
        ]
        if rows:
            async with self._engine.begin() as conn:
                await conn.execute(publishable_keys.insert(), rows)
            self.invalidate()
        return len(rows)

    @unavailable
    async def revoke(self, ref: str, now: float) -> PublishableKey:
        """Revoke an active key by its id or the key itself; returns it as revoked."""
        ref = ref.strip()
        condition = sa.or_(publishable_keys.c.id == ref, publishable_keys.c.key == ref)
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    publishable_keys.select().where(
                        condition, publishable_keys.c.revoked_at.is_(None)
                    )
                )
            ).first()
            if row is None:
                raise NotFoundError(f"no active publishable key matches {ref}")
            await conn.execute(
                publishable_keys.update()
                .where(publishable_keys.c.id == row.id)
                .values(revoked_at=now)
            )
        self.invalidate()
        return dataclasses.replace(_key(row), revoked_at=now)
