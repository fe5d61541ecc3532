"""Scenario 4 (in-process part): bytes per active visitor in the live structures.

`tracemalloc` measures what `MemoryPresence` keeps for N visitors touched the way the writer's
commit hook touches them (`touch_many` with batches of `(site id, visitor id, ts, path)` over a
handful of pages; visitor ids
are 64-bit hashes like the real ones, created inside the measured span because in the server
the structure is what keeps them alive). Measured for one pageview per visitor and for three
pageviews each within the window (stale queue entries stay until they expire). `MemoryVisits`,
which the server keeps for every visitor of the last 30 minutes, is measured the same way for
context.

Idle RSS: `python -m footfall serve` itself (and the bench entry, for comparison) started on a
fresh data folder, read from /proc/PID/status one second after `/healthz` answers. RSS under
load and after filling visitors is read by the other scenarios.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import procfs, server
from footfall.ingestion.visits import MemoryVisits
from footfall.realtime.memory import MemoryPresence

BATCH = 1000
PAGES = ("/", "/pricing", "/features", "/about", "/posts/launch", "/guide/api")
NOW = 1_790_000_000.0


class _FixedClock:
    def now(self) -> float:
        return NOW


def _measured(build: Callable[[], object]) -> tuple[int, object]:
    """Bytes still allocated after `build()` returns (its result is kept alive)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = build()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return after - before, kept


def presence_bytes(visitors: int, pageviews_each: int, seed: int = 1) -> dict[str, Any]:
    site_id = str(uuid.UUID(int=seed))
    rng = random.Random(seed)

    def build() -> MemoryPresence:
        presence = MemoryPresence(_FixedClock())
        ids = [rng.getrandbits(64) - 2**63 for _ in range(visitors)]
        for view in range(pageviews_each):
            # Views spread over the last 150 s, each visitor's in order, all in the window.
            base = NOW - 150 + view * (150 / pageviews_each)
            for start in range(0, visitors, BATCH):
                chunk = ids[start : start + BATCH]
                touches = [
                    (site_id, v, base + (start + i) * 1e-6, PAGES[(start + i + view) % len(PAGES)])
                    for i, v in enumerate(chunk)
                ]
                asyncio.run(presence.touch_many(touches))
        return presence

    size, kept = _measured(build)
    assert isinstance(kept, MemoryPresence)
    count = asyncio.run(kept.count(site_id))
    return {
        "structure": "MemoryPresence",
        "visitors": visitors,
        "pageviews_each": pageviews_each,
        "counted": count,
        "bytes": size,
        "bytes_per_visitor": size / visitors,
    }


def visits_bytes(visitors: int, seed: int = 2) -> dict[str, Any]:
    site_id = str(uuid.UUID(int=seed))
    rng = random.Random(seed)

    async def fill(visits: MemoryVisits) -> None:
        for n in range(visitors):
            ts = NOW - 150 + n * 1e-6
            await visits.assign(site_id, rng.getrandbits(64) - 2**63, None, ts, NOW)

    def build() -> MemoryVisits:
        visits = MemoryVisits()
        asyncio.run(fill(visits))
        return visits

    size, kept = _measured(build)
    assert isinstance(kept, MemoryVisits)
    return {
        "structure": "MemoryVisits",
        "visitors": visitors,
        "pageviews_each": 1,
        "counted": len(kept),
        "bytes": size,
        "bytes_per_visitor": size / visitors,
    }


def idle_rss(workdir: Path) -> dict[str, dict[str, float]]:
    """Idle RSS in MiB of `footfall serve` and of the bench entry, each on a fresh folder:
    VmRSS, and its anonymous (heap) and file-backed (mapped libraries) parts."""
    result = {}
    entries = (("footfall serve", ("footfall", "serve")), ("bench.app", ("bench.app",)))
    for name, module_args in entries:
        data_dir = workdir / f"idle-{name.replace(' ', '-')}"
        with server.BenchServer(data_dir, module_args=module_args) as bench:
            time.sleep(1.0)
            result[name] = {
                field: procfs.status_kib(bench.pid, field) / 1024
                for field in ("VmRSS", "RssAnon", "RssFile")
            }
    return result


def run(visitors: int, workdir: Path, log: Any = print) -> dict[str, Any]:
    idle = idle_rss(workdir)
    for name, mib in idle.items():
        log(
            f"memory: idle RSS of {name}: {mib['VmRSS']:.1f} MiB (anonymous "
            f"{mib['RssAnon']:.1f}, file-backed {mib['RssFile']:.1f})"
        )
    rows = [
        presence_bytes(visitors, 1),
        presence_bytes(visitors, 3),
        visits_bytes(visitors),
    ]
    for row in rows:
        log(
            f"memory: {row['structure']} {row['visitors']:,} visitors x "
            f"{row['pageviews_each']} pageviews: {row['bytes_per_visitor']:.0f} bytes/visitor"
        )
    return {"rows": rows, "idle_rss_mib": idle}
