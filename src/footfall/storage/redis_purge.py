"""Deleting a deleted site's keys from Redis (cluster mode): presence, visits, event ids, limits.

Every per-site key of the installation has the site id as one of its `:`-separated parts
(`{prefix}:presence:{site}…`, `{prefix}:visit:{site}:{visitor}`, `{prefix}:eid:{site}:{id}`,
`{prefix}:ratelimit:…:{site}`), so one `SCAN MATCH {prefix}:*{site}*` per site finds them all.
SCAN walks the whole keyspace in small steps without blocking Redis; site deletions are rare.
Those keys would expire by themselves within the hour anyway; this makes deletion immediate.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import redis.asyncio as aioredis

from footfall.realtime.redis import unavailable_as

SCAN_COUNT = 1_000
"""Keys Redis examines per SCAN step."""

_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def _escape(text: str) -> str:
    """`text` matched literally by a SCAN pattern."""
    return _GLOB_SPECIAL.sub(r"\\\1", text)


async def forget_sites(client: aioredis.Redis, prefix: str, site_ids: Sequence[str]) -> int:
    """Delete every key under `prefix` that belongs to one of `site_ids`; returns how many."""
    deleted = 0
    with unavailable_as("presence"):
        for site_id in site_ids:
            pattern = f"{_escape(prefix)}:*{_escape(site_id)}*"
            batch: list[bytes] = []
            async for key in client.scan_iter(match=pattern, count=SCAN_COUNT):
                batch.append(key)
                if len(batch) >= SCAN_COUNT:
                    deleted += await client.unlink(*batch)
                    batch.clear()
            if batch:
                deleted += await client.unlink(*batch)
    return deleted
