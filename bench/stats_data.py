"""Realistic event data for the stats benchmark, generated with DuckDB SQL (no Python per row).

`generate(con, table, sites, end, days)` fills a table with the columns of the events table
(those the stats queries read: schema version 1's) for each `(site id, events)` pair: visits of
one to ten events (45 % single-pageview visits, 3.75 events per visit on average) whose starts
are spread uniformly over the `days` before `end`, by people who come back (0.7 visits per
person), each with one country, browser, OS and device for all their visits. The visitor id
is a hash of the person and the UTC day, as Footfall's daily salt makes it; the visit id a hash
of the visit. Per visit: a source (45 % direct, search engines, social networks, a long tail of
400 referring sites) and UTM parameters for 8 % of visits, on the first event only, as the
ingestion pipeline stores them (later pageviews have an internal referrer, hence none). Pages
(260 paths) and countries (40) follow a skewed (log-uniform) popularity; 8 % of the events after
the first are custom events (signup, download, outbound, play) with a property each.

Every value comes from `hash(...)` of the row's indexes and a per-site seed, so a run is
reproducible, and exactly `events` rows are made per site. Rows are not ordered: the caller
inserts them `ORDER BY ts`, the order live ingestion appends them in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import duckdb

from footfall.storage.events import COLUMNS as _ALL_COLUMNS

# The columns generated, in this order: every column of schema version 1 of both stores (the
# later ones — region, city, event_id — stay NULL).
COLUMNS: tuple[str, ...] = _ALL_COLUMNS[: _ALL_COLUMNS.index("props") + 1]

EVENTS_PER_VISIT = 3.75  # 0.45 x 1 + 0.55 x mean(2..10)
VISITS_PER_PERSON = 1.4
MAX_VISIT_SECONDS = 10 * 120 + 10  # nine gaps of at most 120 s, plus jitter

PAGES: tuple[str, ...] = (
    "/",
    "/pricing",
    "/features",
    "/blog",
    "/docs",
    "/about",
    "/signup",
    "/login",
    "/contact",
    "/changelog",
    *(f"/blog/post-{k}" for k in range(150)),
    *(f"/docs/section-{k}" for k in range(100)),
)

COUNTRIES: tuple[str, ...] = (
    "US", "DE", "GB", "IN", "FR", "CA", "BR", "NL", "ES", "IT", "AU", "PL", "SE", "JP", "CH",
    "RU", "UA", "CN", "KR", "MX", "TR", "BE", "AT", "DK", "NO", "FI", "PT", "CZ", "IL", "SG",
    "AR", "ID", "VN", "PH", "ZA", "NG", "EG", "IE", "NZ", "RO",
)  # fmt: skip

# (weight in %, browser, version, os, os version, device type, screen size)
SOFTWARE: tuple[tuple[int, str, str, str, str | None, str, str], ...] = (
    (24, "Chrome", "131.0", "Windows", "10", "desktop", "desktop"),
    (10, "Chrome", "131.0", "Mac OS X", "10.15", "desktop", "laptop"),
    (14, "Chrome Mobile", "131.0", "Android", "14", "mobile", "mobile"),
    (13, "Mobile Safari", "18.1", "iOS", "18.1", "mobile", "mobile"),
    (9, "Safari", "18.1", "Mac OS X", "10.15", "desktop", "laptop"),
    (8, "Firefox", "133.0", "Windows", "10", "desktop", "desktop"),
    (5, "Firefox", "133.0", "Linux", None, "desktop", "laptop"),
    (6, "Edge", "131.0", "Windows", "10", "desktop", "desktop"),
    (3, "Samsung Internet", "26.0", "Android", "13", "mobile", "mobile"),
    (3, "Mobile Safari", "17.6", "iOS", "17.6", "tablet", "tablet"),
    (3, "Chrome", "130.0", "Linux", None, "desktop", "desktop"),
    (2, "Opera", "114.0", "Windows", "11", "desktop", "desktop"),
)

# (weight in %, referring URL, source); "other" picks one of OTHER_SITES referring sites.
SOURCES: tuple[tuple[int, str | None, str | None], ...] = (
    (45, None, None),
    (25, "https://www.google.com/", "Google"),
    (3, "https://www.bing.com/", "Bing"),
    (3, "https://duckduckgo.com/", "DuckDuckGo"),
    (4, "https://t.co/", "Twitter"),
    (3, "https://news.ycombinator.com/item", "Hacker News"),
    (3, "https://www.reddit.com/r/programming/", "Reddit"),
    (3, "https://github.com/", "GitHub"),
    (2, "https://www.facebook.com/", "Facebook"),
    (2, "https://www.linkedin.com/", "LinkedIn"),
    (7, "other", "other"),
)
OTHER_SITES = 400

UTM_SHARE = 0.08
UTM_SOURCES = ("newsletter", "twitter", "facebook", "google")
UTM_MEDIUMS = ("email", "social", "social", "cpc")
UTM_CAMPAIGNS = ("spring", "launch", "black-friday", "webinar", "retargeting")

CUSTOM_SHARE = 0.08
# (name, props): the property's value is picked by hash among the listed ones.
CUSTOM_EVENTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("signup", "plan", ("free", "pro", "team")),
    ("download", "format", ("pdf", "zip")),
    ("outbound", "url", ("https://github.com/footfall", "https://docs.example.org/")),
    ("play", "video", ("intro", "demo")),
)


def _text(value: str | None) -> str:
    """A constant of this module as an SQL literal (no value from outside reaches the SQL)."""
    if value is None:
        return "NULL"
    return "'" + value.replace("'", "''") + "'"


def _list(values: Sequence[str | None]) -> str:
    return "[" + ", ".join(_text(v) for v in values) + "]"


def _weighted(rows: Sequence[tuple[object, ...]], column: int) -> str:
    """A 100-entry list in which each row's value appears `weight` (its first field) times."""
    expanded: list[str | None] = []
    for row in rows:
        value = row[column]
        assert value is None or isinstance(value, str)
        expanded += [value] * int(str(row[0]))
    assert len(expanded) == 100, len(expanded)
    return _list(expanded)


def _pick(items: str, count: int, index: str) -> str:
    """`items[index]` (0-based `index` expression, always in range)."""
    return f"list_element({items}, (({index}) % {count} + 1)::INTEGER)"


def _skewed(count: int, uniform: str) -> str:
    """A log-uniform index in [0, count): index 0 is the most frequent."""
    return f"least({count - 1}, floor(exp(({uniform}) * ln({count + 1}))) - 1)::BIGINT"


def _site_sql(site_id: str, events: int, seed: int, end_ms: int, days: float) -> str:
    """The SELECT producing the `events` rows of one site."""
    visits = math.ceil(events / EVENTS_PER_VISIT * 1.2) + 20
    persons = max(1, round(visits / VISITS_PER_PERSON))
    span_ms = int(days * 86_400_000) - MAX_VISIT_SECONDS * 1000
    start_ms = end_ms - int(days * 86_400_000)

    def h(*keys: str) -> str:
        # The high bits: DuckDB combines the hashes of several arguments so that the low bits
        # of hash(a, b, 14) and hash(a, b, 15) are correlated.
        return f"(hash({', '.join(keys)}, {seed}) >> 11)"

    def u(*keys: str) -> str:  # uniform in [0, 1), from a hash of the keys and the seed
        return f"({h(*keys)} % 1000000)::DOUBLE / 1000000"

    software = [_weighted(SOFTWARE, c) for c in range(1, 7)]
    custom_names = _list([name for name, _, _ in CUSTOM_EVENTS])
    custom_props = _list(
        [
            "{" + f'"{key}":"{value}"' + "}"
            for _, key, values in CUSTOM_EVENTS
            for value in (values * 6)[:6]
        ]
    )
    pages = _list(PAGES)
    # The source row of a visit: index into the 100-entry weighted lists.
    return f"""
    SELECT
        epoch_ms(start_ms + j * gap_ms + ({h("v", "j", "9")} % 5000)::BIGINT) AS ts,
        {_text(site_id)} AS site_id,
        {h("person", "day")}::BIGINT AS visitor_id,
        {h("v", "3")}::BIGINT AS visit_id,
        CASE WHEN custom IS NULL THEN 'pageview'
             ELSE {_pick(custom_names, len(CUSTOM_EVENTS), "custom")} END AS name,
        'example.com' AS hostname,
        {_pick(pages, len(PAGES), _skewed(len(PAGES), u("v", "j", "10")))} AS pathname,
        CASE WHEN j = 0 THEN referrer END AS referrer,
        CASE WHEN j = 0 THEN coalesce(source, utm_source) END AS referrer_source,
        CASE WHEN j = 0 THEN utm_source END AS utm_source,
        CASE WHEN j = 0 THEN utm_medium END AS utm_medium,
        CASE WHEN j = 0 THEN utm_campaign END AS utm_campaign,
        CAST(NULL AS VARCHAR) AS utm_term,
        CAST(NULL AS VARCHAR) AS utm_content,
        {_pick(_list(COUNTRIES), len(COUNTRIES), _skewed(len(COUNTRIES), u("person", "12")))}
            AS country,
        {_pick(software[0], 100, "soft")} AS browser,
        {_pick(software[1], 100, "soft")} AS browser_version,
        {_pick(software[2], 100, "soft")} AS os,
        {_pick(software[3], 100, "soft")} AS os_version,
        {_pick(software[4], 100, "soft")} AS device_type,
        {_pick(software[5], 100, "soft")} AS screen_size,
        CASE WHEN custom IS NOT NULL THEN
            {_pick(custom_props, len(CUSTOM_EVENTS) * 6, f"custom * 6 + {h('v', 'j', '14')} % 6")}
        END AS props
    FROM (
        SELECT *, CASE WHEN j > 0 AND {u("v", "j", "13")} < {CUSTOM_SHARE}
                       THEN {h("v", "j", "15")} % {len(CUSTOM_EVENTS)} END AS custom
        FROM (
            SELECT *, unnest(range(length)) AS j
            FROM (
                SELECT *,
                    sum(length) OVER (ORDER BY v ROWS UNBOUNDED PRECEDING) - length AS first_index,
                    (start_ms // 86400000) AS day,
                    {h("person", "11")} % 100 AS soft,
                    CASE WHEN source_url = 'other'
                         THEN 'https://site' || ({h("v", "16")} % {OTHER_SITES}) || '.example.net/'
                         ELSE source_url END AS referrer,
                    CASE WHEN source_url = 'other'
                         THEN 'site' || ({h("v", "16")} % {OTHER_SITES}) || '.example.net'
                         ELSE source_name END AS source
                FROM (
                    SELECT v,
                        {h("v", "1")} % {persons} AS person,
                        ({start_ms} + {h("v", "2")} % {span_ms})::BIGINT AS start_ms,
                        CASE WHEN {u("v", "6")} < 0.45 THEN 1 ELSE 2 + {h("v", "7")} % 9 END::BIGINT
                            AS length,
                        (20000 + {h("v", "8")} % 100000)::BIGINT AS gap_ms,
                        {_pick(_weighted(SOURCES, 1), 100, h("v", "4"))} AS source_url,
                        {_pick(_weighted(SOURCES, 2), 100, h("v", "4"))} AS source_name,
                        CASE WHEN {u("v", "5")} < {UTM_SHARE}
                             THEN {_pick(_list(UTM_SOURCES), len(UTM_SOURCES), h("v", "17"))}
                             END AS utm_source,
                        CASE WHEN {u("v", "5")} < {UTM_SHARE}
                             THEN {_pick(_list(UTM_MEDIUMS), len(UTM_MEDIUMS), h("v", "17"))}
                             END AS utm_medium,
                        CASE WHEN {u("v", "5")} < {UTM_SHARE}
                             THEN {_pick(_list(UTM_CAMPAIGNS), len(UTM_CAMPAIGNS), h("v", "18"))}
                             END AS utm_campaign
                    FROM range({visits}) AS t(v)
                )
            )
            WHERE first_index < {events}
        )
        WHERE first_index + j < {events}
    )
    """


def generate(
    con: duckdb.DuckDBPyConnection,
    table: str,
    sites: Sequence[tuple[str, int]],
    end_ms: int,
    days: float,
) -> None:
    """Create temporary table `table` holding the generated events of every site
    (`(site id, number of events)`, each with its own seed), all before `end_ms` (Unix ms)."""
    selects = [
        _site_sql(site_id, events, seed=seed, end_ms=end_ms, days=days)
        for seed, (site_id, events) in enumerate(sites, start=1)
    ]
    con.execute(f"CREATE OR REPLACE TEMPORARY TABLE {table} AS " + "\nUNION ALL\n".join(selects))
