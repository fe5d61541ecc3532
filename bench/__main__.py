"""`python -m bench`: run the benchmark scenarios, write bench/results/latest.{json,md}.

    python -m bench                 # the full run (about 25 minutes on 2 cores, most of it
                                    # the stats dashboard at 10M events on PostgreSQL)
    python -m bench --quick         # short runs, 1M stored events (a few minutes)
    python -m bench --scenarios realtime --duration 3 --repeat 1
    python -m bench --scenarios stats --stats-sizes 1000000,10000000
    python -m bench --scenarios live --live-streams 5000
    python -m bench --scenarios cluster  # PostgreSQL + Redis on 127.0.0.1 (bench/cluster.py)

Every server is a real process on 127.0.0.1 with its own temporary data folder (the cluster
scenario's: its own PostgreSQL database and Redis key prefix, removed afterwards); every load
run is bounded in time (wrk's `-d`) and the exact-count run in requests. Markdown goes to
stdout at the end; progress lines go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import (
    cluster,
    ingestion,
    live_streams,
    memory,
    procfs,
    profile,
    realtime,
    report,
    stats,
    wrk,
)
from bench.config import BenchConfig, Targets

RESULTS = Path(__file__).resolve().parent / "results"
SCENARIOS = ("memory", "ingestion", "realtime", "cluster", "stats", "live")


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs, 1M stored events")
    parser.add_argument("--duration", type=float, help="seconds per load run")
    parser.add_argument("--repeat", type=int, help="runs per point (the median is reported)")
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help=f"comma-separated subset of {SCENARIOS}"
    )
    parser.add_argument("--stored-events", type=int, help="old events for the realtime stage 2")
    parser.add_argument(
        "--concurrency", help="comma-separated ingestion connection counts (default 1,16,64,256)"
    )
    parser.add_argument(
        "--stats-sizes", help="comma-separated stats dashboard sizes in events (default 1M,10M)"
    )
    parser.add_argument(
        "--no-postgres", action="store_true", help="stats scenario: DuckDB only (no PostgreSQL)"
    )
    parser.add_argument(
        "--live-streams", type=int, help="live scenario: open streams (default 5,000; quick 1,000)"
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profiles")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folders")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    return parser.parse_args(argv)


def _config(args: argparse.Namespace, workdir: Path) -> BenchConfig:
    config = BenchConfig.quick(workdir) if args.quick else BenchConfig(workdir=workdir)
    scenarios = tuple(s.strip() for s in args.scenarios.split(",") if s.strip())
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    changes: dict[str, Any] = {"scenarios": scenarios, "profile": not args.no_profile}
    if args.duration:
        changes["duration"] = args.duration
    if args.repeat:
        changes["repeat"] = args.repeat
    if args.stored_events is not None:
        changes["stored_events"] = args.stored_events
    if args.concurrency:
        changes["concurrencies"] = tuple(int(c) for c in args.concurrency.split(","))
    if args.stats_sizes:
        changes["stats_sizes"] = tuple(int(n) for n in args.stats_sizes.split(","))
    if args.no_postgres:
        changes["stats_postgres"] = False
    return dataclasses.replace(config, **changes)


def _meta(config: BenchConfig, argv: list[str]) -> dict[str, Any]:
    wrk_version = subprocess.run(
        [wrk.ensure_wrk(), "--version"], capture_output=True, text=True, check=False
    ).stdout.split(" [")[0]
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": os.getloadavg(),
        "command": shlex.join(["python", "-m", "bench", *argv]),
        "nproc": os.cpu_count(),
        "cpu": procfs.cpu_model(),
        "memory_gib": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "versions": {
            name: metadata.version(name) for name in ("uvicorn", "starlette", "duckdb", "footfall")
        },
        "wrk": wrk_version.strip(),
        "duration": config.duration,
        "repeat": config.repeat,
        "config": {k: str(v) for k, v in dataclasses.asdict(config).items()},
    }


def _live(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """The live-streams scenario (bench/live_streams.py): 5,000 open streams (1,000 quick)."""
    streams = args.live_streams or (1_000 if args.quick else 5_000)
    updates, hold = (5, 5.0) if args.quick else (20, 20.0)
    _log(f"live: {streams:,} streams, {updates} changes, held {hold:g} s")
    return asyncio.run(live_streams.run(streams, updates, 1.0, hold, workdir))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parse(argv)
    wrk.ensure_wrk()
    tmp = Path(tempfile.mkdtemp(prefix="footfall-bench-"))
    try:
        config = _config(args, tmp)
        _log(f"work folder {tmp}; scenarios {', '.join(config.scenarios)}")
        if config.profile and profile.py_spy() is None:
            _log("py-spy is not installed (pip install py-spy): the profiles are skipped")
        results: dict[str, Any] = {"meta": _meta(config, argv)}
        if "memory" in config.scenarios:
            results["memory"] = memory.run(config.memory_visitors, config.workdir, _log)
        if "ingestion" in config.scenarios:
            results["ingestion"] = ingestion.run(config, _log)
        if "realtime" in config.scenarios:
            results["realtime"] = realtime.run(config, _log)
        if "cluster" in config.scenarios:
            results["cluster"] = cluster.run(config, _log)
        if "stats" in config.scenarios:
            results["stats"] = stats.run(config, _log)
        if "live" in config.scenarios:
            results["live"] = _live(args, config.workdir)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    targets = Targets()
    results["targets"] = report.as_dicts(report.verdicts(results, targets))
    text = report.markdown(results, targets)
    if "live" in results:
        meta = results["meta"]
        live_meta = {
            "when": meta["date"],
            "cpu": meta["cpu"],
            "cores": meta["nproc"],
            "load": ", ".join(f"{x:.2f}" for x in meta["load_average"]),
            "command": meta["command"],
        }
        text += "\n## Live streams\n\n" + live_streams.markdown(results["live"], live_meta)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (args.out / "latest.md").write_text(text)
    _log(f"wrote {args.out / 'latest.json'} and {args.out / 'latest.md'}")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
