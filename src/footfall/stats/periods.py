"""Date ranges: a `period` (and `date`) read in the site's time zone, as UTC instants.

Days and months are calendar days and months in the query's time zone, so `7d` in
`America/New_York` starts at New York's midnight, and a day with a daylight-saving change
lasts 23 or 25 hours. A range is half-open: `[start, end)` in Unix seconds.

| period       | range                                                            |
|--------------|------------------------------------------------------------------|
| `day`        | the day `date` (default: today)                                  |
| `today`      | today                                                            |
| `30m`        | the last 30 minutes, the current one (up to now) included        |
| `24h`        | the 24 hours up to and including now (not aligned to days)       |
| `7d`, `30d`  | the last 7 / 30 days, today included                             |
| `month`      | the current month up to and including today                      |
| `last_month` | the previous calendar month                                      |
| `12mo`       | the last 12 months, the current one (up to today) included       |
| `custom`     | `date=YYYY-MM-DD,YYYY-MM-DD`, both days included                 |

The previous period (for `compare=previous_period`) is the range of the same length just
before: as many days before the first day, or the 24 hours (30 minutes) before for `24h`
(`30m`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

from footfall.errors import BadRequest

PERIODS: tuple[str, ...] = (
    "day",
    "today",
    "30m",
    "24h",
    "7d",
    "30d",
    "month",
    "last_month",
    "12mo",
    "custom",
)
DEFAULT_PERIOD = "30d"

# Calendar dates the API accepts: enough for any real history, and far from datetime's limits.
FIRST_DATE = date(1970, 1, 1)
LAST_DATE = date(2999, 12, 31)

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DAY = timedelta(days=1)
_HOURS_24 = 86_400.0
_MINUTE = 60.0
_MINUTES_30 = 30
# "Up to and including now" to the microsecond, the precision of the stores.
_MICROSECOND = 0.000_001


@dataclass(frozen=True, slots=True)
class DateRange:
    """`[start, end)` in Unix seconds; `first_day`..`last_day` the local days it covers (both
    None for `24h`, which is not made of whole days)."""

    start: float
    end: float
    timezone: str
    first_day: date | None = None
    last_day: date | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def previous(self) -> DateRange:
        """The range of the same length just before this one."""
        if self.first_day is None or self.last_day is None:
            length = self.end - self.start
            return DateRange(self.start - length, self.start, self.timezone)
        days = (self.last_day - self.first_day).days + 1
        first = self.first_day - timedelta(days=days)
        return days_range(first, self.first_day - _DAY, self.timezone)


def local_midnight(day: date, zone: ZoneInfo) -> float:
    """The instant a local day starts (where midnight is skipped, the first instant after)."""
    return datetime.combine(day, time(), tzinfo=zone).timestamp()


def days_range(first: date, last: date, timezone: str) -> DateRange:
    zone = ZoneInfo(timezone)
    start = local_midnight(first, zone)
    end = local_midnight(last + _DAY, zone)
    return DateRange(start, end, timezone, first, last)


@functools.cache
def _known_timezones() -> frozenset[str]:
    # "localtime" names the server's own zone file, which the SQL engines do not know.
    return frozenset(available_timezones() - {"localtime"})


def parse_timezone(value: str | None, default: str = "UTC") -> str:
    """The IANA time zone `value` names; `default` (the site's zone) when absent or empty."""
    if value is None or value == "":
        return default
    if value not in _known_timezones():
        raise BadRequest(
            f'timezone: unknown time zone "{value}"; expected an IANA name such as '
            "Europe/Berlin or America/New_York"
        )
    return value


def _parse_date(value: str) -> date:
    try:
        if not _DATE.fullmatch(value):  # fromisoformat also takes 20260921 and 2026-W38-1
            raise ValueError(value)
        day = date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f'date: "{value}" is not a date; expected YYYY-MM-DD') from None
    if not FIRST_DATE <= day <= LAST_DATE:
        raise BadRequest(
            f"date: {value} is out of range; dates go from {FIRST_DATE} to {LAST_DATE}"
        )
    return day


def _month_start(day: date, months_back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def date_range(period: str | None, date_param: str | None, timezone: str, now: float) -> DateRange:
    """The range of `period` (default 30d) as the API takes it; `BadRequest` naming the
    parameter when `period` or `date` is not valid."""
    period = period or DEFAULT_PERIOD
    if period not in PERIODS:
        raise BadRequest(f'period: unknown period "{period}"; allowed: {", ".join(PERIODS)}')
    if date_param is not None and period not in ("day", "custom"):
        raise BadRequest("date: only allowed with period=day or period=custom")
    today = datetime.fromtimestamp(now, ZoneInfo(timezone)).date()
    if period == "24h":
        return DateRange(now - _HOURS_24, now + _MICROSECOND, timezone)
    if period == "30m":
        # Whole minutes (the realtime view's buckets), the current one up to now.
        start = (now // _MINUTE - (_MINUTES_30 - 1)) * _MINUTE
        return DateRange(start, now + _MICROSECOND, timezone)
    if period == "custom":
        return days_range(*_custom_days(date_param), timezone)
    first, last = today, today
    if period == "day" and date_param:
        first = last = _parse_date(date_param)
    elif period == "7d":
        first = today - timedelta(days=6)
    elif period == "30d":
        first = today - timedelta(days=29)
    elif period == "month":
        first = _month_start(today)
    elif period == "last_month":
        first = _month_start(today, 1)
        last = _month_start(today) - _DAY
    elif period == "12mo":
        first = _month_start(today, 11)
    return days_range(first, last, timezone)


def _custom_days(value: str | None) -> tuple[date, date]:
    if not value:
        raise BadRequest("date: is required with period=custom; expected YYYY-MM-DD,YYYY-MM-DD")
    parts = value.split(",")
    if len(parts) != 2:
        raise BadRequest(
            f'date: "{value}" is not a range; expected YYYY-MM-DD,YYYY-MM-DD with period=custom'
        )
    first, last = (_parse_date(part.strip()) for part in parts)
    if first > last:
        raise BadRequest(f"date: the range starts ({first}) after it ends ({last})")
    return first, last
