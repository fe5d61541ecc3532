"""Running the bench server as a real process, and the `footfall` CLI to prepare its data folder.

Like tests/serverproc.py: `python -m bench.app` (Footfall's app plus no-op routes, served by
uvicorn exactly as `footfall serve` does) on a free loopback port with its own data folder and
`FOOTFALL_ACCESS_LOG=false`; ready once `/healthz` answers; stopped with SIGTERM (graceful:
the writer drains). The port is always on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import procfs

HOST = "127.0.0.1"
STARTUP_TIMEOUT = 180.0  # a restart on a large event store rebuilds live state first
_RATE_LIMITS = [
    f"{kind}_{part}"
    for kind in ("REALTIME", "STATS", "INGEST_CLIENT", "INGEST_SITE", "LIVE_CLIENT")
    for part in ("PER_SECOND", "BURST")
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def footfall_cli(data_dir: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    """Run `python -m footfall ARGS` on `data_dir` as a user would; returns its stdout.

    `env`: extra `FOOTFALL_*` variables (the cluster tier's database and Redis settings).
    """
    full_env = {**os.environ, **(env or {}), "FOOTFALL_DATA_DIR": str(data_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "footfall", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


@dataclass(frozen=True)
class SiteCredentials:
    website_id: str
    token: str


def add_site(
    data_dir: Path, domain: str, name: str | None = None, env: Mapping[str, str] | None = None
) -> SiteCredentials:
    """`footfall sites add DOMAIN --json` then `footfall tokens create ID --json` (with `env`
    on top of the environment, as `footfall_cli`)."""
    extra = ["--name", name] if name else []
    site = json.loads(footfall_cli(data_dir, "sites", "add", domain, *extra, "--json", env=env))
    token = json.loads(
        footfall_cli(data_dir, "tokens", "create", site["websiteId"], "--json", env=env)
    )
    return SiteCredentials(website_id=site["websiteId"], token=token["token"])


@dataclass
class BenchServer:
    """One running bench server process (`python -m bench.app` unless told otherwise)."""

    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    module_args: tuple[str, ...] = ("bench.app",)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    startup_seconds: float = 0.0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}-server.log"

    def start(self) -> BenchServer:
        self.port = free_port()
        full_env = {
            **os.environ,
            "FOOTFALL_DATA_DIR": str(self.data_dir),
            "FOOTFALL_HOST": HOST,
            "FOOTFALL_PORT": str(self.port),
            "FOOTFALL_ACCESS_LOG": "false",
            # Rate limits on but out of reach: every request pays for its check, none is refused
            # (wrk's few connections would otherwise be one client far over its limit).
            **{f"FOOTFALL_RATE_LIMIT_{name}": "1000000000" for name in _RATE_LIMITS},
            **self.env,
        }
        started = time.monotonic()
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                [sys.executable, "-m", *self.module_args],
                env=full_env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=Path(__file__).resolve().parent.parent,
            )
        deadline = started + STARTUP_TIMEOUT
        with httpx.Client(timeout=2.0) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"bench server exited early; see {self.log_path}")
                try:
                    if client.get(f"{self.url}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"bench server did not become healthy; see {self.log_path}")
                time.sleep(0.05)
        self.startup_seconds = time.monotonic() - started
        return self

    def health(self) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/healthz", timeout=10.0)
        body: dict[str, Any] = response.json()
        return body

    def wait_idle(self, timeout: float = 30.0) -> dict[str, Any]:
        """Wait until the writer has nothing queued; returns the last health body."""
        deadline = time.monotonic() + timeout
        while True:
            body = self.health()
            if body["writer"]["queuedEvents"] == 0 or time.monotonic() > deadline:
                return body
            time.sleep(0.05)

    def rss_mib(self) -> float:
        return procfs.rss_mib(self.pid)

    def cpu_seconds(self) -> float:
        return procfs.cpu_seconds(self.pid)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait (graceful: queued events are committed); returns the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode

    def __enter__(self) -> BenchServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
