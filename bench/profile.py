"""Sampling the server under load with py-spy, and summarising where the time goes.

`record` runs `py-spy record --format raw` (collapsed stacks, one line per distinct stack with
its sample count) against the server's pid for a bounded number of seconds; `summarise` turns
that into the figures BENCHMARKS.md quotes: samples per thread, the top frames by own time
("self", the leaf of the stack) and by inclusive time (anywhere in the stack), and own time
grouped by package or Footfall module. Idle samples (threads waiting in epoll or on a lock)
are not recorded, so percentages are of the time threads spent running Python.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import procfs

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
# Frames every sample of the serving thread goes through: not informative inclusive figures.
_PLUMBING = re.compile(r"runpy|bench/app\.py|uvicorn/main\.py|uvicorn/server\.py|_compat\.py")


def py_spy() -> str | None:
    """The py-spy executable next to this interpreter, or on PATH; None if not installed."""
    beside = Path(sys.executable).parent / "py-spy"
    if beside.exists():
        return str(beside)
    return shutil.which("py-spy")


def start_recording(
    pid: int, seconds: float, output: Path, *, gil: bool = False, rate: int = 250
) -> subprocess.Popen[str]:
    """Start py-spy on `pid` for `seconds` (it stops by itself); wait on the returned process.

    `gil`: sample only the thread holding the GIL (what bounds one Python process).
    """
    executable = py_spy()
    if executable is None:
        raise RuntimeError("py-spy is not installed (pip install py-spy)")
    command = [
        executable,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, round(seconds))),
        "--rate",
        str(rate),
        "--format",
        "raw",
        "--function",
        "--threads",
        "--nonblocking",
        "--output",
        str(output),
        *(["--gil"] if gil else []),
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def profiled_run(
    label: str, pid: int, seconds: float, raw: Path, load: Callable[[], float], *, gil: bool = False
) -> dict[str, Any]:
    """Record `pid` with py-spy while `load()` runs (it returns the request rate it reached).

    The quiet-machine wait happens before py-spy starts, so the recording covers the load.
    """
    procfs.wait_for_quiet(pid)
    spy = start_recording(pid, seconds, raw, gil=gil)
    rate = load()
    _, errors = spy.communicate(timeout=seconds + 60)
    summary = summarise(label, raw).as_dict() if raw.exists() else ProfileSummary(label).as_dict()
    summary["rps_while_profiled"] = rate
    if summary["samples"] < 100:
        summary["py_spy_errors"] = (errors or "")[-500:]
    return summary


def frame_name(frame: str) -> str:
    """`func (path/file.py:12)` -> `func (path/file.py)`."""
    match = _FRAME.match(frame)
    if match is None:
        return frame
    return f"{match['func']} ({match['file']})"


def package_of(frame: str) -> str:
    """Where a frame's code lives: a Footfall module (`footfall.ingestion`), else a package."""
    match = _FRAME.match(frame)
    path = match["file"] if match else frame
    parts = path.replace("\\", "/").split("/")
    if parts[0] == "footfall" and len(parts) > 1:
        return "footfall." + parts[1].removesuffix(".py")
    if parts[0].startswith("<frozen"):
        return "stdlib"
    return parts[0].removesuffix(".py")


@dataclass
class ProfileSummary:
    label: str
    samples: int = 0
    threads: dict[str, int] = field(default_factory=dict)
    self_top: list[tuple[str, float]] = field(default_factory=list)
    inclusive_top: list[tuple[str, float]] = field(default_factory=list)
    self_by_package: list[tuple[str, float]] = field(default_factory=list)
    raw_path: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "samples": self.samples,
            "threads": self.threads,
            "self_top": self.self_top,
            "inclusive_top": self.inclusive_top,
            "self_by_package": self.self_by_package,
            "raw_path": self.raw_path,
        }


def summarise(label: str, raw: Path, top: int = 15) -> ProfileSummary:
    """The summary of a py-spy raw (collapsed) file, in % of all recorded samples."""
    threads: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = frames[0].split(": ", 1)[-1] if frames[0].startswith("thread") else "?"
        frames = frames[1:] if frames[0].startswith("thread") else frames
        if not frames:
            continue
        total += count
        threads[thread] += count
        leaf[frame_name(frames[-1])] += count
        packages[package_of(frames[-1])] += count
        for name in {frame_name(f) for f in frames if not _PLUMBING.search(f)}:
            inclusive[name] += count

    def pct(counter: Counter[str], n: int) -> list[tuple[str, float]]:
        return [(k, round(100 * v / total, 1)) for k, v in counter.most_common(n)] if total else []

    return ProfileSummary(
        label=label,
        samples=total,
        threads=dict(threads.most_common()),
        self_top=pct(leaf, top),
        inclusive_top=pct(inclusive, top + 10),
        self_by_package=pct(packages, top),
        raw_path=str(raw),
    )
