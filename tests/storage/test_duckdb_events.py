"""DuckDB-specific behaviour of `DuckDBEventStore` (the shared contract is in
test_event_store_contract.py)."""

from __future__ import annotations

from footfall.storage.duckdb_events import DuckDBEventStore
from footfall.storage.events import Event


def event() -> Event:
    return Event(ts=1000.0, site_id="s", visitor_id=1, name="pageview", hostname="h", pathname="/")


async def test_reads_never_leave_a_result_open_that_blocks_appends(tmp_path) -> None:
    """Regression: a half-fetched result (health check) made the next appender flush fail."""
    store = DuckDBEventStore(tmp_path / "e.duckdb")
    await store.ping()
    await store.append([event()])
    await store.count()
    await store.recent_visits(0.0)
    await store.append([event()])
    assert await store.count() == 2
    await store.close()


async def test_a_second_process_on_the_same_file_gets_a_clear_error(tmp_path) -> None:
    import subprocess
    import sys

    store = DuckDBEventStore(tmp_path / "e.duckdb")
    code = (
        "from footfall.storage.duckdb_events import DuckDBEventStore\n"
        f"DuckDBEventStore({str(tmp_path / 'e.duckdb')!r})\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    await store.close()
    assert result.returncode != 0
    assert "in use by another process" in result.stderr
