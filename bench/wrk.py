"""Driving `wrk` (Debian's package) with the replay script, and what one run measured.

Each run is bounded by wrk's own `-d` duration (and killed if it overstays), uses one wrk
thread (the machine has 2 cores; the server gets the other), and reports wrk's own CPU time
(from `wait4`'s rusage) next to the server's (from /proc), since both share the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import procfs
from bench.app import GC_PATH

ROOT = Path(__file__).resolve().parent.parent
REPLAY_LUA = Path(__file__).resolve().parent / "lua" / "replay.lua"
INSTALL_SCRIPT = ROOT / "scripts" / "install-wrk.sh"
OVERSTAY = 30.0  # seconds past the run's duration before wrk is killed


def ensure_wrk() -> str:
    """The path of `wrk`, installing Debian's package (scripts/install-wrk.sh) if missing."""
    found = shutil.which("wrk")
    if found is None:
        subprocess.run([str(INSTALL_SCRIPT)], check=True, timeout=600)
        found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed and scripts/install-wrk.sh could not install it")
    return found


@dataclass(frozen=True)
class RawRequest:
    """One request for the replay script: method, path (with query), headers, body."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str = ""

    def line(self) -> str:
        fields = [self.method, self.path, "\x1f".join(f"{k}: {v}" for k, v in self.headers.items())]
        text = "\t".join([*fields, self.body])
        if "\n" in text or "\r" in text or text.count("\t") != 3:
            raise ValueError("requests must not contain tabs or newlines")
        return text


def write_requests(path: Path, requests: Iterable[RawRequest]) -> Path:
    path.write_text("".join(r.line() + "\n" for r in requests))
    return path


@dataclass
class RunResult:
    """What one wrk run measured (latencies in milliseconds, CPU as % of one core)."""

    label: str
    connections: int
    duration_s: float
    requests: int
    rps: float
    statuses: dict[str, int]
    marked: int
    errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    mean_ms: float
    target_rate: float | None
    wrk_cpu_pct: float
    server_cpu_pct: float
    other_cpu_pct: float  # everything else on the machine meanwhile (noise indicator)
    quiet_wait_s: float  # waited before the run for the rest of the machine to calm down
    gc: dict[str, list[float]]  # the server's collections and pauses during the run, per gen
    server_peak_rss_mib: float

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def _gc_stats(url: str) -> dict[str, list[float]]:
    """The bench server's garbage-collector counters (see bench/app.py)."""
    stats: dict[str, list[float]] = httpx.get(f"{url}{GC_PATH}", timeout=10.0).json()
    return stats


def run(
    label: str,
    url: str,
    requests_file: Path,
    *,
    connections: int,
    duration: float,
    server_pid: int,
    rate: float | None = None,
    marker: str = "",
    timeout_s: float = 5.0,
    wait_quiet: bool = True,
) -> RunResult:
    """One bounded wrk run against `url` replaying `requests_file`.

    `wait_quiet`: first wait (bounded) for the rest of the machine to go quiet.
    """
    wrk = ensure_wrk()
    seconds = max(1, round(duration))
    command = [
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={timeout_s:g}s",
        "-s",
        str(REPLAY_LUA),
        url,
        "--",
        str(requests_file),
        marker,
    ]
    env = {**os.environ, "BENCH_RATE": f"{rate:.3f}" if rate else "0"}
    waited = procfs.wait_for_quiet(server_pid) if wait_quiet else 0.0
    gc_before = _gc_stats(url)
    server_cpu_before = procfs.cpu_seconds(server_pid)
    busy_before = procfs.machine_busy_seconds()
    started = time.monotonic()
    with procfs.RssSampler(server_pid) as rss:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        killer = threading.Timer(seconds + OVERSTAY, process.kill)
        killer.start()
        try:
            assert process.stdout is not None and process.stderr is not None
            stdout = process.stdout.read().decode()
            stderr = process.stderr.read().decode()
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        finally:
            killer.cancel()
    wall = time.monotonic() - started
    gc_after = _gc_stats(url)
    server_cpu = procfs.cpu_seconds(server_pid) - server_cpu_before
    busy = procfs.machine_busy_seconds() - busy_before
    wrk_cpu = usage.ru_utime + usage.ru_stime
    line = next((x for x in stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}): {stderr.strip() or stdout}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    latency = data["latency_us"]
    run_seconds = data["duration_us"] / 1e6
    return RunResult(
        label=label,
        connections=connections,
        duration_s=round(run_seconds, 3),
        requests=data["requests"],
        rps=data["requests"] / run_seconds,
        statuses={str(k): v for k, v in data["statuses"].items()},
        marked=data["marked"],
        errors=data["errors"],
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p95_ms=latency["p95"] / 1000,
        p99_ms=latency["p99"] / 1000,
        p999_ms=latency["p999"] / 1000,
        max_ms=latency["max"] / 1000,
        mean_ms=latency["mean"] / 1000,
        target_rate=rate,
        wrk_cpu_pct=100 * wrk_cpu / wall,
        server_cpu_pct=100 * server_cpu / wall,
        other_cpu_pct=max(0.0, 100 * (busy - server_cpu - wrk_cpu) / wall),
        quiet_wait_s=waited,
        gc={
            "collections": [
                a - b
                for a, b in zip(gc_after["collections"], gc_before["collections"], strict=True)
            ],
            "total_ms": [
                a - b for a, b in zip(gc_after["total_ms"], gc_before["total_ms"], strict=True)
            ],
            "max_ms": gc_after["max_ms"],
        },
        server_peak_rss_mib=rss.peak_mib,
    )
