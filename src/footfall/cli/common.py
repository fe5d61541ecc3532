"""What every `footfall` command group shares: options, the metadata store, output, errors.

Commands that touch metadata open the store the settings name, run one action and close it
again, so they work while servers run (the servers see the change within
`FOOTFALL_META_RECHECK_MS`, 100 ms).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from footfall.clock import iso_millis
from footfall.config import Settings
from footfall.storage.meta import SqlMetaStore

T = TypeVar("T")

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data folder of the embedded tier [env: FOOTFALL_DATA_DIR; default ./footfall-data]",
        show_default=False,
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def settings_for(data_dir: Path | None, **overrides: Any) -> Settings:
    """Settings from the environment, with `--data-dir` and the non-None `overrides` on top."""
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    return Settings(**values)


def with_meta(settings: Settings, action: Callable[[SqlMetaStore], Awaitable[T]]) -> T:
    """Open the metadata store the settings name, run `action` on it, close it."""

    async def run() -> T:
        meta = await SqlMetaStore.open(
            database_url=settings.database_url, sqlite_path=settings.meta_path
        )
        try:
            return await action(meta)
        finally:
            await meta.close()

    return asyncio.run(run())


def run_meta(data_dir: Path | None, action: Callable[[SqlMetaStore], Awaitable[T]]) -> T:
    """`with_meta` for the settings of `--data-dir` (or the environment)."""
    return with_meta(settings_for(data_dir), action)


def now() -> float:
    """The current time as a Unix timestamp (seconds)."""
    return datetime.now(UTC).timestamp()


def when(ts: float | None) -> str:
    """A timestamp as ISO 8601 with milliseconds, or "never" for None."""
    return "never" if ts is None else iso_millis(ts)


def echo_json(value: Any) -> None:
    """Print `value` as one line of JSON (the `--json` output of every command)."""
    typer.echo(json.dumps(value))


def fail(message: str) -> typer.Exit:
    """Print `Error: message` to stderr; returns the exit (status 1) for the caller to raise."""
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(1)
