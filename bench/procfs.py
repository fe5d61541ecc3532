"""Reading a process's memory and CPU time from /proc, and sampling its RSS in the background."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def status_kib(pid: int, field: str) -> int:
    """A `kB` field of /proc/PID/status (`VmRSS`, `VmHWM`, …), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def rss_mib(pid: int) -> float:
    """Resident set size (VmRSS) in MiB."""
    return status_kib(pid, "VmRSS") / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: state is field 3; utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / _TICKS


def machine_busy_seconds() -> float:
    """CPU time every core spent not idle since boot (/proc/stat), in seconds."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICKS


def wait_for_quiet(
    pid: int, *, threshold_pct: float = 25.0, max_wait: float = 20.0, window: float = 0.5
) -> float:
    """Wait (at most `max_wait` s) until the rest of the machine uses less than `threshold_pct`
    of a core besides process `pid` and this one; returns the seconds waited.

    The machine is shared: starting a run while another job holds a core skews the figures.
    """
    started = time.monotonic()
    own = os.getpid()
    while True:
        busy, theirs, mine = machine_busy_seconds(), cpu_seconds(pid), cpu_seconds(own)
        time.sleep(window)
        other = (
            machine_busy_seconds() - busy - (cpu_seconds(pid) - theirs) - (cpu_seconds(own) - mine)
        )
        waited = time.monotonic() - started
        if 100 * other / window < threshold_pct or waited >= max_wait:
            return waited


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


class RssSampler:
    """Samples a process's VmRSS every `interval` seconds between `start` and `stop`."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self._pid = pid
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self.peak_mib = 0.0

    def _run(self) -> None:
        while True:
            try:
                self.peak_mib = max(self.peak_mib, rss_mib(self._pid))
            except (OSError, KeyError):
                return
            if self._stop.wait(self._interval):
                return

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
