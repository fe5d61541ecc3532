"""Parsing a stats query: the value it builds, and a 400 naming the parameter for every mistake."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from footfall.errors import BadRequest
from footfall.stats import Kind, StatsQuery, parse_query
from footfall.stats.dimensions import DIMENSIONS, dimension
from footfall.stats.intervals import buckets
from footfall.stats.periods import date_range
from tests.stats.dataset import NOW, NY, at

METRICS_ALLOWED = (
    "allowed: visitors, visits, pageviews, views_per_visit, bounce_rate, visit_duration, events, "
    "conversions, conversion_rate"
)
DIMENSIONS_ALLOWED = (
    "allowed: event:page, event:hostname, event:name, event:goal, visit:entry_page, "
    "visit:exit_page, "
    "visit:source, visit:referrer, visit:utm_source, visit:utm_medium, visit:utm_campaign, "
    "visit:utm_term, visit:utm_content, visit:country, visit:region, visit:city, visit:browser, "
    "visit:browser_version, visit:os, visit:os_version, visit:device, visit:screen, "
    "event:props:<key>"
)
PERIODS_ALLOWED = "allowed: day, today, 30m, 24h, 7d, 30d, month, last_month, 12mo, custom"


def parse(kind: Kind = Kind.AGGREGATE, **params: str) -> StatsQuery:
    return parse_query(kind, "site", list(params.items()), NOW)


def error(kind: Kind = Kind.AGGREGATE, **params: str) -> str:
    with pytest.raises(BadRequest) as caught:
        parse(kind, **params)
    assert caught.value.status == 400
    return caught.value.message


def test_defaults() -> None:
    query = parse()
    assert query.kind is Kind.AGGREGATE
    assert query.site_id == "site"
    assert query.period == "30d"
    assert query.timezone == "UTC"
    assert query.metrics == ("visitors",)
    assert query.filters == ()
    assert query.breakdown is None
    assert query.interval is None
    assert (query.limit, query.page, query.compare) == (100, 1, False)
    assert query.now == NOW
    assert (query.range.first_day, query.range.last_day) == (date(2026, 8, 23), date(2026, 9, 21))


def test_a_query_is_immutable() -> None:
    query = parse()
    with pytest.raises(dataclasses.FrozenInstanceError):
        query.site_id = "other"  # type: ignore[misc]
    assert hash(query) == hash(parse())


def test_everything_given() -> None:
    query = parse(
        Kind.BREAKDOWN,
        websiteId="ignored-here",
        period="custom",
        date="2026-09-01,2026-09-30",
        timezone=NY,
        metrics="pageviews, bounce_rate",
        filters='[["is", "visit:source", ["Google", "Bing"]], ["contains", "event:page", ["/b"]]]',
        property="event:props:plan",
        limit="10",
        page="3",
    )
    assert query.metrics == ("pageviews", "bounce_rate")
    assert [(f.op, f.dimension.name, f.values) for f in query.filters] == [
        ("is", "visit:source", ("Google", "Bing")),
        ("contains", "event:page", ("/b",)),
    ]
    assert query.breakdown == dimension("event:props:plan")
    assert query.breakdown is not None and query.breakdown.prop_key == "plan"
    assert (query.limit, query.page) == (10, 3)
    assert query.range.start == at("2026-09-01T04:00:00")
    assert query.range.end == at("2026-10-01T04:00:00")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"metrics": "foo"}, f'metrics: unknown metric "foo"; {METRICS_ALLOWED}'),
        ({"metrics": "visitors,,pageviews"}, f"metrics: empty metric name; {METRICS_ALLOWED}"),
        ({"metrics": ""}, f"metrics: empty metric name; {METRICS_ALLOWED}"),
        ({"metrics": "visitors,visitors"}, 'metrics: "visitors" given more than once'),
        ({"period": "week"}, f'period: unknown period "week"; {PERIODS_ALLOWED}'),
        (
            {"period": "7d", "date": "2026-09-01"},
            "date: only allowed with period=day or period=custom",
        ),
        (
            {"period": "custom"},
            "date: is required with period=custom; expected YYYY-MM-DD,YYYY-MM-DD",
        ),
        (
            {"period": "custom", "date": "2026-09-01"},
            'date: "2026-09-01" is not a range; expected YYYY-MM-DD,YYYY-MM-DD with period=custom',
        ),
        (
            {"period": "custom", "date": "2026-09-02,2026-09-01"},
            "date: the range starts (2026-09-02) after it ends (2026-09-01)",
        ),
        (
            {"period": "day", "date": "2026-02-30"},
            'date: "2026-02-30" is not a date; expected YYYY-MM-DD',
        ),
        (
            {"period": "day", "date": "20260921"},
            'date: "20260921" is not a date; expected YYYY-MM-DD',
        ),
        (
            {"period": "day", "date": "2026-W38-1"},
            'date: "2026-W38-1" is not a date; expected YYYY-MM-DD',
        ),
        (
            {"period": "day", "date": "1969-12-31"},
            "date: 1969-12-31 is out of range; dates go from 1970-01-01 to 2999-12-31",
        ),
        (
            {"timezone": "Mars/Olympus"},
            'timezone: unknown time zone "Mars/Olympus"; expected an IANA name such as '
            "Europe/Berlin or America/New_York",
        ),
        (
            {"timezone": "localtime"},
            'timezone: unknown time zone "localtime"; expected an IANA '
            "name such as Europe/Berlin or America/New_York",
        ),
        (
            {"filters": "[["},
            "filters: not valid JSON; expected a JSON array of [operator, dimension, values], "
            'e.g. [["is", "event:page", ["/"]]]',
        ),
        (
            {"filters": '{"is": 1}'},
            "filters: expected a JSON array of [operator, dimension, values], "
            'e.g. [["is", "event:page", ["/"]]]',
        ),
        (
            {"filters": '[["is", "event:page"]]'},
            "filters[0]: expected a JSON array of [operator, dimension, values], "
            'e.g. [["is", "event:page", ["/"]]]',
        ),
        (
            {"filters": '[["is", "event:page", ["/"]], ["eq", "event:page", ["/"]]]'},
            'filters[1]: unknown operator "eq"; allowed: is, is_not, contains',
        ),
        (
            {"filters": '[["is", "visit:planet", ["Mars"]]]'},
            f'filters[0]: unknown dimension "visit:planet"; {DIMENSIONS_ALLOWED}',
        ),
        (
            {"filters": '[["is", "event:props:", ["x"]]]'},
            f'filters[0]: unknown dimension "event:props:"; {DIMENSIONS_ALLOWED}',
        ),
        (
            {"filters": '[["is", "event:page", "/"]]'},
            "filters[0]: values must be a non-empty list of non-empty strings",
        ),
        (
            {"filters": '[["is", "event:page", []]]'},
            "filters[0]: values must be a non-empty list of non-empty strings",
        ),
        (
            {"filters": '[["is", "event:page", [1]]]'},
            "filters[0]: values must be a non-empty list of non-empty strings",
        ),
        (
            {"filters": '[["contains", "event:page", [""]]]'},
            "filters[0]: values must be a non-empty list of non-empty strings",
        ),
        (
            {"filters": "[" + ",".join(['["is","event:page",["/"]]'] * 21) + "]"},
            "filters: at most 20 filters",
        ),
        ({"compare": "last_year"}, 'compare: unknown value "last_year"; allowed: previous_period'),
        (
            {"interval": "day"},
            'unknown parameter "interval"; allowed: websiteId, period, date, timezone, metrics, '
            "filters, compare",
        ),
        (
            {"metric": "visitors"},
            'unknown parameter "metric"; allowed: websiteId, period, date, timezone, metrics, '
            "filters, compare",
        ),
    ],
)
def test_aggregate_errors(params: dict[str, str], message: str) -> None:
    assert error(**params) == message


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, f"property: is required; {DIMENSIONS_ALLOWED}"),
        (
            {"property": "visit:planet"},
            f'property: unknown property "visit:planet"; {DIMENSIONS_ALLOWED}',
        ),
        ({"property": "event:page", "limit": "0"}, "limit: expected an integer from 1 to 1000"),
        ({"property": "event:page", "limit": "1001"}, "limit: expected an integer from 1 to 1000"),
        ({"property": "event:page", "limit": "ten"}, "limit: expected an integer from 1 to 1000"),
        (
            {"property": "event:page", "limit": "9" * 5000},
            "limit: expected an integer from 1 to 1000",
        ),
        ({"property": "event:page", "page": "-1"}, "page: expected an integer from 1 to 100000"),
        (
            {"property": "event:page", "interval": "day"},
            'unknown parameter "interval"; allowed: websiteId, period, date, timezone, metrics, '
            "filters, property, limit, page, compare",
        ),
    ],
)
def test_breakdown_errors(params: dict[str, str], message: str) -> None:
    assert error(Kind.BREAKDOWN, **params) == message


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"interval": "fortnight"},
            'interval: unknown interval "fortnight"; allowed: minute, hour, day, week, month',
        ),
        (
            {"interval": "minute", "period": "30d"},
            'interval: "minute" makes about 43201 buckets over this period (at most 10000); '
            "choose a longer interval or a shorter period",
        ),
        (
            {"property": "event:page"},
            'unknown parameter "property"; allowed: websiteId, period, date, timezone, metrics, '
            "filters, interval, compare",
        ),
    ],
)
def test_timeseries_errors(params: dict[str, str], message: str) -> None:
    assert error(Kind.TIMESERIES, **params) == message


def test_a_parameter_given_twice() -> None:
    with pytest.raises(BadRequest, match=r"^period: given more than once$"):
        parse_query(Kind.AGGREGATE, "site", [("period", "7d"), ("period", "day")], NOW)


def test_every_dimension_filters_and_breaks_down() -> None:
    for name in [*DIMENSIONS, "event:props:plan"]:
        query = parse(Kind.BREAKDOWN, property=name, filters=f'[["is", "{name}", ["x"]]]')
        assert query.breakdown is not None and query.breakdown.name == name
        assert query.filters[0].dimension == query.breakdown


def test_filter_values_are_deduplicated() -> None:
    (only,) = parse(filters='[["is", "event:page", ["/", "/a", "/"]]]').filters
    assert only.values == ("/", "/a")


def test_default_intervals() -> None:
    def interval(**params: str) -> str | None:
        return parse(Kind.TIMESERIES, **params).interval

    assert interval(period="day") == "hour"
    assert interval(period="30m") == "minute"
    assert interval(period="24h") == "hour"
    assert interval(period="7d") == "day"
    assert interval(period="30d") == "day"
    assert interval(period="last_month") == "day"
    assert interval(period="12mo") == "month"
    assert interval(period="custom", date="2026-01-01,2026-12-31") == "month"
    assert interval(period="day", date="2025-11-02", timezone=NY) == "hour"  # 25 hours


def test_previous_period_of_days_follows_local_midnights() -> None:
    # 7 days in New York ending the day after the end of daylight saving time.
    range_ = date_range("custom", "2025-11-03,2025-11-09", NY, NOW)
    previous = range_.previous()
    assert (previous.first_day, previous.last_day) == (date(2025, 10, 27), date(2025, 11, 2))
    assert previous.start == at("2025-10-27T04:00:00")  # EDT
    assert previous.end == range_.start == at("2025-11-03T05:00:00")  # EST


def test_the_last_30_minutes_are_whole_minutes_up_to_now() -> None:
    now = at("2026-09-21T14:13:20")
    range_ = date_range("30m", None, "Asia/Kolkata", now)
    assert range_.start == at("2026-09-21T13:44:00")
    assert range_.end == now + 0.000_001
    keys = buckets(range_, "minute")
    assert len(keys) == 30  # the current minute last, however far into it we are
    assert (keys[0], keys[-1]) == ("2026-09-21T19:14:00", "2026-09-21T19:43:00")  # IST
    previous = range_.previous()
    assert previous.end == range_.start
    assert previous.end - previous.start == range_.end - range_.start


def test_last_month_in_january_and_12_months() -> None:
    january = at("2026-01-15T12:00:00")
    last_month = date_range("last_month", None, "UTC", january)
    assert (last_month.first_day, last_month.last_day) == (date(2025, 12, 1), date(2025, 12, 31))
    year = date_range("12mo", None, "UTC", january)
    assert (year.first_day, year.last_day) == (date(2025, 2, 1), date(2026, 1, 15))


def test_a_half_hour_zone_has_every_hour() -> None:
    range_ = date_range("day", "2026-09-21", "Asia/Kolkata", NOW)
    keys = buckets(range_, "hour")
    assert keys == [f"2026-09-21T{h:02d}:00:00" for h in range(24)]
