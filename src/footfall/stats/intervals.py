"""Time buckets of a timeseries: every bucket of a range, in the query's time zone.

A bucket is named by its local start, truncated the way the SQL engines truncate
(`date_trunc` on the local time): `2026-09-21T14:00:00`. Weeks start on Monday; the first and
last bucket of a range may be partial (a week or month that began before the range, the
current hour). On a daylight-saving day the local hours follow the clock: in spring the
skipped hour has no bucket, in autumn the repeated hour is one bucket holding both.

The buckets listed here are the ones the SQL can produce for the range, so the timeseries is
zero-filled by looking each one up.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from footfall.errors import BadRequest
from footfall.stats.periods import DateRange

INTERVALS: tuple[str, ...] = ("minute", "hour", "day", "week", "month")
MAX_BUCKETS = 10_000

# Length of one bucket, for the bucket-count estimate (a month is at least 28 days).
_SECONDS = {"minute": 60, "hour": 3600, "day": 86_400, "week": 7 * 86_400, "month": 28 * 86_400}
_MICROSECOND = timedelta(microseconds=1)


def parse_interval(value: str | None, range_: DateRange) -> str:
    interval = value or default_interval(range_)
    if interval not in INTERVALS:
        raise BadRequest(
            f'interval: unknown interval "{interval}"; allowed: {", ".join(INTERVALS)}'
        )
    buckets = math.ceil((range_.end - range_.start) / _SECONDS[interval]) + 1
    if buckets > MAX_BUCKETS:
        raise BadRequest(
            f'interval: "{interval}" makes about {buckets} buckets over this period '
            f"(at most {MAX_BUCKETS}); choose a longer interval or a shorter period"
        )
    return interval


def default_interval(range_: DateRange) -> str:
    """Minutes for an hour or less, hours for a day or less, days up to about three months,
    months beyond."""
    days = (range_.end - range_.start) / 86_400
    if days <= 1 / 24:
        return "minute"
    if days <= 1.05:  # a 25-hour day is still a day
        return "hour"
    if days <= 100:
        return "day"
    return "month"


def truncate(moment: datetime, interval: str) -> datetime:
    """The start of `moment`'s bucket (naive local time in, naive local time out)."""
    if interval == "minute":
        return moment.replace(second=0, microsecond=0)
    if interval == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = datetime(moment.year, moment.month, moment.day)
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def bucket_key(moment: datetime) -> str:
    """The key the SQL writes for a bucket: `YYYY-MM-DDTHH:MM:SS`, local time."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def bucket_label(key: str, interval: str) -> str:
    """The API's name of a bucket: the date for days, weeks and months, else the local time."""
    return key[:10] if interval in ("day", "week", "month") else key


def buckets(range_: DateRange, interval: str) -> list[str]:
    """The keys of every bucket of the range, in order."""
    zone = range_.zone
    first = datetime.fromtimestamp(range_.start, zone)
    last = datetime.fromtimestamp(range_.end, zone) - _MICROSECOND
    keys: list[str] = []
    if interval in ("minute", "hour"):
        # Step through UTC instants from the first bucket's start: every local minute or hour
        # is reached whatever the offset (also half-hour ones); a repeated hour comes twice.
        step = _SECONDS[interval]
        start = truncate(first.replace(tzinfo=None), interval).replace(tzinfo=zone, fold=0)
        moment = start.timestamp()
        while moment < range_.end:
            local = datetime.fromtimestamp(moment, zone).replace(tzinfo=None)
            _add(keys, bucket_key(truncate(local, interval)))
            moment += step
        return keys
    day: date = first.date()
    while day <= last.date():
        _add(keys, bucket_key(truncate(datetime(day.year, day.month, day.day), interval)))
        day += timedelta(days=1)
    return keys


def _add(keys: list[str], key: str) -> None:
    if not keys or keys[-1] != key:
        keys.append(key)
