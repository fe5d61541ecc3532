"""Moving an installation: `footfall export` writes, `footfall import` reads, JSON lines.

The file holds, in order: one header line, one line per site (with its tokens' digests, so
existing API tokens keep working after the move, its goals and its publishable keys), then one
line per event, oldest first. Files written before goals or keys existed have none; they import
as before.
Events are streamed in batches both ways, so a large installation never sits in memory.
Typical use: export from the embedded tier (server stopped: it owns the DuckDB file), import
into cluster mode. Import refuses sites that already exist, so it cannot double-count.
Salts are not exported: visitors active during the move are counted as new once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import IO, Any

import orjson

from footfall.storage.events import Event, EventStore
from footfall.storage.goals import Goal, GoalStore
from footfall.storage.meta import SqlMetaStore
from footfall.storage.models import Site, TokenInfo
from footfall.storage.publishable_keys import PublishableKeyStore, key_from_record, key_record

FORMAT = "footfall-export"
VERSION = 1
BATCH = 10_000


@dataclasses.dataclass
class TransferCounts:
    sites: int = 0
    tokens: int = 0
    events: int = 0


def _line(obj: dict[str, Any]) -> bytes:
    return orjson.dumps(obj) + b"\n"


async def export_all(
    meta: SqlMetaStore, events: EventStore, out: IO[bytes], now: float
) -> TransferCounts:
    counts = TransferCounts()
    out.write(_line({"type": FORMAT, "version": VERSION, "exportedAt": now}))
    goal_store = GoalStore(meta.engine)
    key_store = PublishableKeyStore(meta)
    for site, site_tokens in await meta.export_sites():
        tokens = [{**dataclasses.asdict(info), "tokenHash": digest} for info, digest in site_tokens]
        goals = [dataclasses.asdict(goal) for goal in await goal_store.for_site(site.id)]
        keys = [key_record(key) for key in await key_store.list_keys(site.id)]
        out.write(
            _line(
                {
                    "type": "site",
                    **dataclasses.asdict(site),
                    "tokens": tokens,
                    "goals": goals,
                    "publishableKeys": keys,
                }
            )
        )
        counts.sites += 1
        counts.tokens += len(tokens)
    async for batch in events.export_batches(BATCH):
        for event in batch:
            out.write(_line({"type": "event", **dataclasses.asdict(event)}))
        counts.events += len(batch)
    return counts


def _records(source: IO[bytes]) -> Iterator[dict[str, Any]]:
    for number, raw in enumerate(source, start=1):
        if not raw.strip():
            continue
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ValueError(f"line {number}: not JSON") from None
        if not isinstance(record, dict) or "type" not in record:
            raise ValueError(f"line {number}: not a footfall export record")
        yield record


async def import_all(meta: SqlMetaStore, events: EventStore, source: IO[bytes]) -> TransferCounts:
    counts = TransferCounts()
    records = _records(source)
    header = next(records, None)
    if header is None or header.get("type") != FORMAT or header.get("version") != VERSION:
        raise ValueError(f"not a {FORMAT} file of version {VERSION}")
    batch: list[Event] = []
    site_fields = {f.name for f in dataclasses.fields(Site)}
    token_fields = {f.name for f in dataclasses.fields(TokenInfo)}
    goal_fields = {f.name for f in dataclasses.fields(Goal)}
    goal_store = GoalStore(meta.engine)
    key_store = PublishableKeyStore(meta)
    for record in records:
        kind = record.pop("type")
        if kind == "site":
            tokens = [
                (TokenInfo(**{k: t[k] for k in token_fields}), t["tokenHash"])
                for t in record.pop("tokens")
            ]
            # Exports from before a field existed lack it: the field's default applies.
            fields = {k: record[k] for k in site_fields if k in record}
            if "allowed_hostnames" in fields:
                fields["allowed_hostnames"] = tuple(fields["allowed_hostnames"])
            await meta.import_site(Site(**fields), tokens)
            await goal_store.import_goals(
                [Goal(**{k: g[k] for k in goal_fields}) for g in record.pop("goals", [])]
            )
            # Live-counter widgets keep working after the move: same keys.
            await key_store.import_keys(map(key_from_record, record.pop("publishableKeys", [])))
            counts.sites += 1
            counts.tokens += len(tokens)
        elif kind == "event":
            batch.append(Event(**record))
            if len(batch) >= BATCH:
                await events.append(batch)
                counts.events += len(batch)
                batch = []
        else:
            raise ValueError(f"unknown record type {kind!r}")
    if batch:
        await events.append(batch)
        counts.events += len(batch)
    return counts
