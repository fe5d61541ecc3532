"""Judging results against the targets, and writing them as Markdown."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bench.config import Targets


@dataclass(frozen=True)
class Verdict:
    target: str
    measured: str
    met: bool


# The columns every load table shares, between its two leading and its last column.
_LOAD_COLUMNS = (
    "req/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "server CPU",
    "wrk CPU",
    "other CPU",
    "gen-2 GCs (longest pause ms)",
    "ratio",
)


def _fmt(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _growth(first: dict[str, Any], last: dict[str, Any]) -> float:
    """Slow-down from `first` to `last` in realtime rps relative to the adjacent no-op GET."""
    return 1 - float(last["ratio"]) / float(first["ratio"])


def verdicts(results: dict[str, Any], targets: Targets) -> list[Verdict]:
    out: list[Verdict] = []
    ingestion = results.get("ingestion")
    if ingestion:
        points = ingestion["points"]
        worst = min(points, key=lambda p: p["ratio"])
        each = ", ".join(f"c={p['connections']}: {p['ratio']:.0%}" for p in points)
        out.append(
            Verdict(
                f"ingestion >= {targets.ingest_ratio_min:.0%} of the no-op POST "
                "(every concurrency)",
                f"worst {worst['ratio']:.0%} at c={worst['connections']} ({each})",
                worst["ratio"] >= targets.ingest_ratio_min,
            )
        )
        durable = [p for p in points if p["accepted_all"]]
        best = max((p["ingest"]["rps"] for p in durable), default=0.0)
        out.append(
            Verdict(
                f">= {_fmt(targets.ingest_events_per_s_min)} durable events/s",
                f"{_fmt(best)} events/s (best concurrency, every answer 202 accepted after commit)",
                best >= targets.ingest_events_per_s_min,
            )
        )
        paced = ingestion["paced"]
        out.append(
            Verdict(
                f"ingestion p99 <= {targets.ingest_p99_ms_max:g} ms at half the max rate",
                f"p99 {paced['p99_ms']:.1f} ms at {_fmt(paced['rps'])}/s "
                f"(asked {_fmt(paced['target_rate'] or 0)}/s)",
                paced["p99_ms"] <= targets.ingest_p99_ms_max,
            )
        )
    realtime = results.get("realtime")
    if realtime:
        stages = [realtime["empty"], realtime["stored"]]
        levels = [level for stage in stages for level in stage["levels"]]
        slowest = min(levels, key=lambda x: x["realtime"]["rps"])
        out.append(
            Verdict(
                f"realtime >= {_fmt(targets.realtime_rps_min)} req/s (every level)",
                f"worst {_fmt(slowest['realtime']['rps'])} req/s "
                f"({slowest['visitors']:,} visitors, {slowest['stored_events']:,} stored)",
                slowest["realtime"]["rps"] >= targets.realtime_rps_min,
            )
        )
        worst = min(levels, key=lambda x: x["ratio"])
        out.append(
            Verdict(
                f"realtime >= {targets.realtime_ratio_min:.0%} of the no-op GET (every level)",
                f"worst {worst['ratio']:.0%} ({worst['visitors']:,} visitors, "
                f"{worst['stored_events']:,} stored); best {max(x['ratio'] for x in levels):.0%}",
                worst["ratio"] >= targets.realtime_ratio_min,
            )
        )
        p99 = max(stage["paced"]["p99_ms"] for stage in stages)
        out.append(
            Verdict(
                f"realtime p99 <= {targets.realtime_p99_ms_max:g} ms (at half the max rate)",
                f"p99 {p99:.2f} ms (worst stage); at c={levels[0]['realtime']['connections']} "
                f"unpaced: {max(x['realtime']['p99_ms'] for x in levels):.1f} ms",
                p99 <= targets.realtime_p99_ms_max,
            )
        )
        by_visitors = max(_growth(s["levels"][0], s["levels"][-1]) for s in stages)
        by_events = max(
            _growth(a, b) for a, b in zip(stages[0]["levels"], stages[1]["levels"], strict=True)
        )
        growth = max(by_visitors, by_events)
        out.append(
            Verdict(
                f"realtime: no growth from {stages[0]['levels'][0]['visitors']:,} to "
                f"{stages[0]['levels'][-1]['visitors']:,} visitors or 0 to "
                f"{stages[1]['stored_events']:,} events (within "
                f"{targets.realtime_growth_max:.0%}, relative to the no-op GET)",
                f"visitors: {by_visitors:+.0%}; stored events: {by_events:+.0%} (slow-down)",
                growth <= targets.realtime_growth_max,
            )
        )
    memory = results.get("memory")
    if memory:
        presence = memory["rows"][0]
        out.append(
            Verdict(
                f"<= {targets.bytes_per_visitor_max:g} bytes per active visitor",
                f"{presence['bytes_per_visitor']:.0f} B (MemoryPresence, {presence['visitors']:,} "
                f"visitors, 1 pageview each); {memory['rows'][1]['bytes_per_visitor']:.0f} B with "
                f"{memory['rows'][1]['pageviews_each']} pageviews each",
                presence["bytes_per_visitor"] <= targets.bytes_per_visitor_max,
            )
        )
        idle_parts = memory["idle_rss_mib"]["footfall serve"]
        idle = idle_parts["VmRSS"]
        out.append(
            Verdict(
                f"idle RSS < {targets.idle_rss_mib_max:g} MiB",
                f"{idle:.1f} MiB (`footfall serve`, fresh data folder; anonymous "
                f"{idle_parts['RssAnon']:.1f}, file-backed {idle_parts['RssFile']:.1f})",
                idle < targets.idle_rss_mib_max,
            )
        )
    out += _stats_verdicts(results.get("stats"), targets)
    return out


def _run_cells(run: dict[str, Any]) -> list[str]:
    return [
        _fmt(run["rps"]),
        f"{run['p50_ms']:.2f}",
        f"{run['p95_ms']:.2f}",
        f"{run['p99_ms']:.2f}",
        f"{run['server_cpu_pct']:.0f}%",
        f"{run['wrk_cpu_pct']:.0f}%",
        f"{run['other_cpu_pct']:.0f}%",
        f"{run['gc']['collections'][2]} ({max(run['gc']['max_ms']):.0f})",
    ]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def markdown(results: dict[str, Any], targets: Targets) -> str:
    meta = results["meta"]
    lines = [
        f"# Footfall benchmark results ({meta['date']})",
        "",
        f"- Machine: {meta['nproc']} cores, {meta['cpu']}; {meta['memory_gib']:.0f} GiB; "
        f"Linux {meta['kernel']}",
        f"- Python {meta['python']}; uvicorn {meta['versions']['uvicorn']} (uvloop, httptools), "
        f"starlette {meta['versions']['starlette']}, duckdb {meta['versions']['duckdb']}; "
        f"load generator {meta['wrk']} (1 thread)",
        f"- Command: `{meta['command']}`; {meta['duration']:g} s per run, "
        f"median of {meta['repeat']} runs per point; load average at the start "
        f"{', '.join(f'{x:.2f}' for x in meta['load_average'])} (the machine is shared: "
        '"other CPU" is what the rest of the machine used during each run, in % of a core)',
        "",
        "## Targets",
        "",
    ]
    lines += _table(
        ["target", "measured", "verdict"],
        [
            [v.target, v.measured, "met" if v.met else "**missed**"]
            for v in verdicts(results, targets)
        ],
    )
    ingestion = results.get("ingestion")
    if ingestion:
        lines += ["", "## Ingestion: `POST /api/event` vs the no-op POST (same requests)", ""]
        lines += _ingestion_markdown(ingestion, "the DuckDB file")
    realtime = results.get("realtime")
    if realtime:
        lines += ["", "## Realtime: `GET /api/v1/realtime` vs the no-op GET", ""]
        lines += _realtime_rows([realtime["empty"], realtime["stored"]])
        bulk = realtime["bulk_insert"]
        lines += [
            "",
            f"Unpaced runs: c={realtime['empty']['levels'][0]['realtime']['connections']}. "
            f"{bulk['events']:,} old events bulk-inserted in {bulk['seconds']:.1f} s "
            f"({bulk['file_mib']:,.0f} MiB DuckDB file); restart took "
            f"{realtime['restart_s']:.2f} s.",
        ]
    lines += _cluster_markdown(results.get("cluster"))
    lines += _stats_markdown(results.get("stats"))
    memory = results.get("memory")
    if memory or realtime or ingestion:
        lines += ["", "## Memory", ""]
        rows = []
        if memory:
            for row in memory["rows"]:
                rows.append(
                    [
                        f"{row['structure']}, {row['visitors']:,} visitors x "
                        f"{row['pageviews_each']} pageview(s) (tracemalloc)",
                        f"{row['bytes_per_visitor']:.0f} bytes/visitor",
                    ]
                )
            for name, mib in memory["idle_rss_mib"].items():
                rows.append(
                    [
                        f"idle RSS, `{name}`, fresh data folder",
                        f"{mib['VmRSS']:.1f} MiB (anonymous {mib['RssAnon']:.1f}, "
                        f"file-backed {mib['RssFile']:.1f})",
                    ]
                )
        if ingestion:
            rows.append(
                ["RSS under ingestion load (peak)", f"{ingestion['loaded_rss_mib']:.1f} MiB"]
            )
        if realtime:
            stage = realtime["empty"]
            visitors = stage["levels"][-1]["visitors"]
            delta = stage["rss_after_fill_mib"] - stage["rss_before_fill_mib"]
            rows.append(
                [
                    f"server RSS before / after {visitors:,} active visitors",
                    f"{stage['rss_before_fill_mib']:.1f} / {stage['rss_after_fill_mib']:.1f} MiB "
                    f"({delta * 2**20 / visitors:.0f} bytes/visitor, all structures)",
                ]
            )
            rows.append(
                [
                    f"idle RSS after restart on {realtime['bulk_insert']['events']:,} "
                    "stored events",
                    f"{realtime['restart_idle_rss_mib']:.1f} MiB",
                ]
            )
        lines += _table(["what", "figure"], rows)
    profiles = list((ingestion or {}).get("profiles", []))
    if realtime:
        profiles += [
            s["profile"] for s in (realtime["empty"], realtime["stored"]) if "profile" in s
        ]
    cluster = results.get("cluster")
    if cluster:
        profiles += cluster["ingestion"].get("profiles", [])
        profiles += [cluster["realtime"]["profile"]] if "profile" in cluster["realtime"] else []
    if profiles:
        lines += ["", "## Where the time goes (py-spy, % of non-idle samples)"]
        for prof in profiles:
            threads = ", ".join(
                f"{k} {100 * v / prof['samples']:.0f}%" for k, v in prof["threads"].items()
            )
            lines += [
                "",
                f"### {prof['label']} ({prof['samples']:,} samples; "
                f"{_fmt(prof['rps_while_profiled'])} req/s while sampled)",
                "",
                f"Threads: {threads}."
                + (
                    f" py-spy recorded too few samples: {prof['py_spy_errors'] or 'no error'}."
                    if "py_spy_errors" in prof
                    else ""
                ),
                "",
                "Own time by package: "
                + ", ".join(f"{k} {v}%" for k, v in prof["self_by_package"][:10])
                + ".",
                "",
            ]
            lines += _table(
                ["top frames, own time", "%"],
                [[f"`{k}`", str(v)] for k, v in prof["self_top"][:12]],
            )
            lines += [""]
            lines += _table(
                ["top frames, inclusive", "%"],
                [[f"`{k}`", str(v)] for k, v in prof["inclusive_top"][:20]],
            )
    lines.append("")
    return "\n".join(lines)


def _ingestion_markdown(ingestion: dict[str, Any], store: str) -> list[str]:
    """The ingestion table and the durability paragraph (`store`: where events were counted)."""
    rows = []
    for p in ingestion["points"]:
        b, i = p["baseline"], p["ingest"]
        rows.append([str(p["connections"]), "no-op POST", *_run_cells(b), "", ""])
        rows.append(
            [
                str(p["connections"]),
                "/api/event",
                *_run_cells(i),
                f"{p['ratio']:.0%}",
                f"{p['events_per_commit']:.0f}",
            ]
        )
    paced = ingestion["paced"]
    rows.append(
        [
            str(paced["connections"]),
            f"/api/event paced at {_fmt(paced['target_rate'] or 0)}/s",
            *_run_cells(paced),
            "",
            "",
        ]
    )
    lines = _table(["c", "endpoint", *_LOAD_COLUMNS, "events/commit"], rows)
    d, e = ingestion["durability"], ingestion["exact"]
    lines += [
        "",
        f"Durability: exact run ({e['requests']:,} requests, c=64, every answer awaited): "
        f"{e['accepted_answers']:,} accepted answers, {e['committed']:,} committed "
        f"({'equal' if e['equal'] else '**not equal**'}). After SIGTERM (exit code "
        f"{ingestion['exit_code']}) {store} holds {d['stored']:,} events; the server "
        f"counted {d['server_committed']:,} commits "
        f"({'equal' if d['stored_equals_committed'] else '**not equal**'}); wrk runs "
        f"got {d['accepted_answers']:,} accepted answers, the rest ("
        f"{d['stored'] - d['accepted_answers']:,} <= {d['wrk_connections_sum']:,} "
        "connections) were in flight when wrk stopped. Dropped: "
        f"{sum(ingestion['dropped_total'].values())}.",
    ]
    return lines


def _realtime_rows(stages: list[dict[str, Any]]) -> list[str]:
    """The realtime table of some stages (levels, then the paced run, of each)."""
    rows = []
    for stage in stages:
        for x in stage["levels"]:
            label = f"{x['stored_events']:,} / {x['visitors']:,}"
            rows.append([label, "no-op GET", *_run_cells(x["baseline"]), "", ""])
            rows.append(
                [
                    label,
                    "realtime",
                    *_run_cells(x["realtime"]),
                    f"{x['ratio']:.0%}",
                    f"{x['count_before']:,} → {x['count_after']:,}",
                ]
            )
        paced = stage["paced"]
        rows.append(
            [
                f"{stage['stored_events']:,} / {stage['paced_visitors']:,}",
                f"realtime paced at {_fmt(paced['target_rate'] or 0)}/s",
                *_run_cells(paced),
                "",
                "",
            ]
        )
    return _table(["stored events / visitors", "endpoint", *_LOAD_COLUMNS, "currentVisitors"], rows)


def _cluster_markdown(cluster: dict[str, Any] | None) -> list[str]:
    if not cluster:
        return []
    versions = cluster["versions"]
    lines = [
        "",
        "## Cluster tier (PostgreSQL + Redis)",
        "",
        "One server process in cluster mode on a fresh PostgreSQL database and a fresh Redis "
        f"key prefix (PostgreSQL {versions['postgresql']}; Redis {versions['redis']}), both "
        'on this machine, so their CPU is part of "other CPU". No target is judged here.',
        "",
        "### Ingestion: `POST /api/event` vs the no-op POST (same requests)",
        "",
    ]
    lines += _ingestion_markdown(cluster["ingestion"], "PostgreSQL's `events` table")
    lines += ["", "### Realtime: `GET /api/v1/realtime` vs the no-op GET", ""]
    lines += _realtime_rows([cluster["realtime"]])
    return lines


def _stats_verdicts(stats: dict[str, Any] | None, targets: Targets) -> list[Verdict]:
    if not stats:
        return []
    out = []
    limits = dict(targets.stats_dashboard_ms_max)
    for entry in stats["sizes"]:
        duck = entry["duckdb"]
        limit = limits.get(entry["events"])
        warm = duck["rollup"]["warm_total_ms"]
        if limit is not None:
            out.append(
                Verdict(
                    f"stats dashboard (30 days, {len(stats['queries'])} queries) <= {limit:g} ms "
                    f"on DuckDB at {entry['events']:,} events",
                    f"{warm:.0f} ms warm, {duck['rollup']['cold_total_ms']:.0f} ms cold "
                    f"({warm / duck['baseline_ms']:.1f}x a count(*) of the range; the raw SQL: "
                    f"{_fmt(duck['raw']['warm_total_ms'])} ms)",
                    warm <= limit,
                )
            )
        out.append(
            Verdict(
                f"stats rollup answers = raw SQL answers ({entry['events']:,} events)",
                "equal" if duck["same_answers"] else "different",
                bool(duck["same_answers"]),
            )
        )
    return out


def _stats_markdown(stats: dict[str, Any] | None) -> list[str]:
    if not stats:
        return []
    lines = [
        "",
        f"## Stats: the dashboard's {len(stats['queries'])} queries over {stats['days'] - 1} "
        f"days ({stats['zone']}), through the engine",
    ]
    for entry in stats["sizes"]:
        duck, pg = entry["duckdb"], entry.get("postgres")
        http = duck.get("http")
        header = ["query", "DuckDB cold", "DuckDB warm", "DuckDB raw SQL", "HTTP warm"]
        if pg:
            header += ["PostgreSQL cold", "PostgreSQL warm"]
        rows = []
        for label in [*stats["queries"], None]:

            def cell(part: dict[str, Any] | None, key: str, label: str | None = label) -> str:
                if part is None:
                    return ""
                value = part[key + "_total_ms"] if label is None else part[key + "_ms"][label]
                return _fmt(value, 1 if value < 100 else 0)

            row = [
                "**total**" if label is None else label,
                cell(duck["rollup"], "cold"),
                cell(duck["rollup"], "warm"),
                cell(duck["raw"], "warm"),
                cell(http, "warm"),
            ]
            if pg:
                row += [cell(pg["raw"], "cold"), cell(pg["raw"], "warm")]
            rows.append(row)
        lines += ["", f"### {entry['events']:,} events (ms)", ""]
        lines += _table(header, rows)
        rolled = duck["rollup"]
        lines += [
            "",
            f"DuckDB: {entry['events']:,} events of the site (+{duck['other_site_events']:,} of "
            f"another) loaded in {duck['load_s']:.1f} s; rollup built in "
            f"{duck['rollup_build_s']:.1f} s, then refreshed over the last "
            f"{stats.get('tail_minutes', 12):g} minutes' events in {duck['refresh_tail_ms']:,.0f} "
            f"ms; file {duck['file_mib']:,.0f} MiB. Warm totals "
            f"{', '.join(f'{t:,.0f}' for t in rolled['warm_totals_ms'])} ms (median "
            f"{rolled['warm_total_ms']:,.0f}); baseline `count(*)` of the range "
            f"{duck['baseline_ms']:.2f} ms, so the dashboard costs "
            f"{rolled['warm_total_ms'] / duck['baseline_ms']:.1f} of them (raw SQL: "
            f"{duck['raw']['warm_total_ms'] / duck['baseline_ms']:,.0f}); other processes used "
            f"{rolled['other_cpu_pct']:.0f}% of a core meanwhile. Rollup and raw SQL answers "
            f"{'equal' if duck['same_answers'] else '**differ**'}.",
        ]
        if pg:
            lines += [
                "",
                f"PostgreSQL: loaded with COPY + ANALYZE in {pg['load_s']:.1f} s; baseline "
                f"`count(*)` {pg['baseline_ms']:.1f} ms, the dashboard costs "
                f"{pg['raw']['warm_total_ms'] / pg['baseline_ms']:,.1f} of them; other "
                f"processes (the server included) used {pg['raw']['other_cpu_pct']:.0f}% of a "
                "core.",
            ]
        profile = duck.get("profile")
        if profile:
            lines += ["", "Where the time goes (DuckDB, the rollup's statements, warm, ms):", ""]
            lines += _table(
                ["query", "statements"],
                [
                    [label, ", ".join(f"{name} {ms:.1f}" for name, ms in steps)]
                    for label, steps in profile.items()
                ],
            )
    return lines


def as_dicts(items: list[Verdict]) -> list[dict[str, Any]]:
    return [asdict(v) for v in items]
