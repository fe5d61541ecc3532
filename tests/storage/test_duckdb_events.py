"""`DuckDBEventStore`: round trip of every column, recent visits, purge, migrations."""

from __future__ import annotations

from footfall.storage.duckdb_events import DuckDBEventStore
from footfall.storage.events import COLUMNS, Event


def full_event(**overrides) -> Event:
    values = dict(
        ts=1_790_000_000.123,
        site_id="site",
        visitor_id=-42,
        visit_id=7,
        name="pageview",
        hostname="example.com",
        pathname="/pricing",
        referrer="https://news.ycombinator.com/",
        referrer_source="Hacker News",
        utm_source="hn",
        utm_medium="social",
        utm_campaign="launch",
        utm_term="analytics",
        utm_content="top",
        country="NL",
        browser="Firefox",
        browser_version="133.0",
        os="Linux",
        os_version=None,
        device_type="desktop",
        screen_size="laptop",
        props={"plan": "pro", "n": 2},
    )
    values.update(overrides)
    return Event(**values)


def test_round_trip_of_every_column(tmp_path) -> None:
    store = DuckDBEventStore(tmp_path / "e.duckdb")
    original = full_event()
    store.append([original])
    (back,) = store.events("site")
    for column in COLUMNS:
        expected, actual = getattr(original, column), getattr(back, column)
        if column == "ts":
            assert abs(actual - expected) < 1e-6
        else:
            assert actual == expected, column
    store.close()


def test_persistence_and_idempotent_migration(tmp_path) -> None:
    path = tmp_path / "e.duckdb"
    store = DuckDBEventStore(path)
    store.append([full_event()])
    store.close()
    reopened = DuckDBEventStore(path)
    assert reopened.count() == 1
    reopened.close()


def test_recent_visits_reports_latest_visit_and_pageview(tmp_path) -> None:
    store = DuckDBEventStore(tmp_path / "e.duckdb")
    store.append(
        [
            full_event(ts=1000.0, visitor_id=1, visit_id=10),
            full_event(ts=1100.0, visitor_id=1, visit_id=11, name="signup"),
            full_event(ts=1050.0, visitor_id=2, visit_id=20, name="signup"),
            full_event(ts=500.0, visitor_id=3, visit_id=30),
        ]
    )
    visits = {v.visitor_id: v for v in store.recent_visits(900.0)}
    assert set(visits) == {1, 2}
    assert visits[1].visit_id == 11 and visits[1].last_ts == 1100.0
    assert visits[1].last_pageview_ts == 1000.0
    assert visits[2].last_pageview_ts is None
    store.close()


def test_purge_sites(tmp_path) -> None:
    store = DuckDBEventStore(tmp_path / "e.duckdb")
    store.append([full_event(site_id="a"), full_event(site_id="b"), full_event(site_id="a")])
    assert store.purge_sites(["a"]) == 2
    assert store.count() == 1 and store.count("b") == 1
    assert store.purge_sites([]) == 0
    store.close()


def test_reads_never_leave_a_result_open_that_blocks_appends(tmp_path) -> None:
    """Regression: a half-fetched result (health check) made the next appender flush fail."""
    store = DuckDBEventStore(tmp_path / "e.duckdb")
    store.ping()
    store.append([full_event()])
    store.count()
    list(store.recent_visits(0.0))
    store.append([full_event()])
    assert store.count() == 2
    store.close()
