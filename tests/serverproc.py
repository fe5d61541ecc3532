"""Run a real `footfall serve` process for end-to-end tests (CLI, browser, restarts).

The server is started with `python -m footfall serve` on a free loopback port and a test's own
data folder; `footfall_server` waits until `/healthz` answers (a readiness check, not a sleep)
and stops the process with SIGTERM (graceful: the writer drains) when the block ends.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from footfall.storage.duckdb_events import DuckDBEventStore
from footfall.storage.events import Event

STARTUP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def footfall_cli(
    *args: str, data_dir: Path, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `footfall ARGS` as a separate process, as a user would (`env`: extra variables)."""
    full_env = {**os.environ, "FOOTFALL_DATA_DIR": str(data_dir), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "footfall", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
    )


@dataclass
class ServerProcess:
    url: str
    port: int
    process: subprocess.Popen[str]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Send `sig` and wait for the process to exit; returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode


@contextlib.contextmanager
def footfall_server(
    data_dir: Path, *, args: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> Iterator[ServerProcess]:
    """A running `footfall serve` on a free port, stopped gracefully afterwards."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"server-{port}.log"
    full_env = {
        **os.environ,
        "FOOTFALL_DATA_DIR": str(data_dir),
        "FOOTFALL_HOST": "127.0.0.1",
        "FOOTFALL_PORT": str(port),
        **(env or {}),
    }
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "footfall", "serve", *args],
            env=full_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            text=True,
        )
    server = ServerProcess(f"http://127.0.0.1:{port}", port, process, log_path)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"footfall serve exited early:\n{server.log()}")
            try:
                if httpx.get(f"{server.url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"footfall serve did not become healthy:\n{server.log()}")
            time.sleep(0.05)
        yield server
    finally:
        server.stop()


def stored_events(data_dir: Path, site_id: str, limit: int = 10_000) -> list[Event]:
    """The events in a stopped embedded server's data folder."""

    async def read() -> list[Event]:
        store = DuckDBEventStore(data_dir / "events.duckdb")
        try:
            return await store.events(site_id, limit)
        finally:
            await store.close()

    # A thread of its own: callers may be inside a running loop (Playwright's sync API).
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, read()).result()
