"""A small hand-made data set whose every stats answer is worked out by hand in the tests.

"Now" is 2026-09-21T14:13:20Z (tests.conftest.START): Monday 10:13:20 in New York (EDT,
UTC-4). Most tests read it in America/New_York, where some events fall on another day (or
month) than in UTC. Visits (visitor id / visit id), all in 2026 but V9 and V10:

| visit      | UTC            | New York    | events                                     |
|------------|----------------|-------------|--------------------------------------------|
| V1 1/11    | 09-20 13:00    | 09-20 09:00 | pv /, pv /pricing, signup{plan:pro}        |
|            | to 13:05       |             | /pricing, pv /docs; Google, Chrome, US     |
| V2 2/21    | 09-20 15:30    | 09-20 11:30 | pv /pricing; Hacker News, Firefox, DE      |
| V3 3/31    | 09-21 02:30    | 09-20 22:30 | pv / (utm newsletter/email/launch),        |
|            | to 02:31:30    |             | pv /pricing; Safari iOS mobile, US         |
| V1b 1/12   | 09-21 12:00    | 09-21 08:00 | pv /pricing, download{format:pdf}          |
|            | to 12:00:40    |             | /pricing; direct, Chrome, US               |
| V4 4/41    | 09-21 13:00    | 09-21 09:00 | pv /; direct, Chrome macOS, NL             |
| V5 5/51    | 09-01 02:00    | 08-31 22:00 | pv /blog; Google, Firefox                  |
| V6 6/61    | 08-15 12:00    | 08-15 08:00 | pv /blog/post on blog.example.com; Twitter |
| V7 2/22    | 09-14 10:00    | 09-14 06:00 | pv /pricing, signup{plan:free} /pricing;   |
|            | to 10:10       |             | Hacker News, Firefox                       |
| V8 8/81    | 09-19 16:00    | 09-19 12:00 | signup{plan:pro} /api only (server-side:   |
|            |                |             | no software, no country, no pageview)      |
| V9 9/91    | 25-11-02 05:30 | 01:30 EDT   | pv /; direct, Chrome                       |
| V10 10/101 | 25-11-02 06:30 | 01:30 EST   | pv /; direct, Chrome                       |

The software, device, screen and location (country, region, city) of each visit are in the
profiles below (`CHROME_WINDOWS`: US-CA San Francisco, `FIREFOX_LINUX`: DE-BE Berlin,
`SAFARI_IOS`: US-NY New York, `CHROME_MAC`: NL-NH Amsterdam, `FIREFOX_WINDOWS`: US-CA without
a city, `CHROME_ANDROID`: GB only). Plus one event of another site (never counted). V9 and
V10 fall in the hour New York lives twice when daylight saving time ends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from footfall.storage.events import Event

SITE = "site-a"
OTHER_SITE = "site-b"
NOW = 1_790_000_000.0  # 2026-09-21T14:13:20Z
NY = "America/New_York"


def at(moment: str) -> float:
    """Unix seconds of a UTC time written `YYYY-MM-DDTHH:MM:SS`."""
    return datetime.fromisoformat(moment).replace(tzinfo=UTC).timestamp()


CHROME_WINDOWS = dict(
    browser="Chrome",
    browser_version="131.0",
    os="Windows",
    os_version="10",
    device_type="desktop",
    screen_size="desktop",
    country="US",
    region="US-CA",
    city="San Francisco",
)
FIREFOX_LINUX = dict(
    browser="Firefox",
    browser_version="133.0",
    os="Linux",
    os_version=None,
    device_type="desktop",
    screen_size="laptop",
    country="DE",
    region="DE-BE",
    city="Berlin",
)
SAFARI_IOS = dict(
    browser="Safari",
    browser_version="17.5",
    os="iOS",
    os_version="17.5",
    device_type="mobile",
    screen_size="mobile",
    country="US",
    region="US-NY",
    city="New York",
)
CHROME_MAC = dict(
    browser="Chrome",
    browser_version="130.0",
    os="Mac OS X",
    os_version="14.5",
    device_type="desktop",
    screen_size="laptop",
    country="NL",
    region="NL-NH",
    city="Amsterdam",
)
FIREFOX_WINDOWS = dict(
    browser="Firefox",
    browser_version="133.0",
    os="Windows",
    os_version="10",
    device_type="desktop",
    screen_size="desktop",
    country="US",
    region="US-CA",  # a region without a city (the database knows no closer)
)
CHROME_ANDROID = dict(
    browser="Chrome Mobile",
    browser_version="131.0",
    os="Android",
    os_version="14",
    device_type="mobile",
    screen_size="mobile",
    country="GB",  # no region or city (the country table alone)
)
GOOGLE = dict(referrer="https://www.google.com/", referrer_source="Google")
HACKER_NEWS = dict(referrer="https://news.ycombinator.com/", referrer_source="Hacker News")


def event(
    when: str,
    visitor: int,
    visit: int,
    path: str,
    name: str = "pageview",
    site: str = SITE,
    hostname: str = "example.com",
    **fields: Any,
) -> Event:
    return Event(
        ts=at(when),
        site_id=site,
        visitor_id=visitor,
        visit_id=visit,
        name=name,
        hostname=hostname,
        pathname=path,
        **fields,
    )


def events(site: str = SITE) -> list[Event]:
    """The data set, for `site` (the API tests use the running app's site id)."""
    utm = dict(
        referrer_source="newsletter",
        utm_source="newsletter",
        utm_medium="email",
        utm_campaign="launch",
    )
    twitter = dict(
        referrer="https://t.co/",
        referrer_source="Twitter",
        utm_source="twitter",
        utm_medium="social",
    )
    s = {"site": site}
    return [
        # V1: Google, 4 events over 5 minutes
        event("2026-09-20T13:00:00", 1, 11, "/", **s, **GOOGLE, **CHROME_WINDOWS),
        event("2026-09-20T13:01:00", 1, 11, "/pricing", **s, **CHROME_WINDOWS),
        event(
            "2026-09-20T13:02:00",
            1,
            11,
            "/pricing",
            "signup",
            **s,
            props={"plan": "pro"},
            **CHROME_WINDOWS,
        ),
        event("2026-09-20T13:05:00", 1, 11, "/docs", **s, **CHROME_WINDOWS),
        # V2: Hacker News, a bounce
        event("2026-09-20T15:30:00", 2, 21, "/pricing", **s, **HACKER_NEWS, **FIREFOX_LINUX),
        # V3: a newsletter campaign, 23:30 in New York but the next day in UTC
        event("2026-09-21T02:30:00", 3, 31, "/", **s, **utm, **SAFARI_IOS),
        event("2026-09-21T02:31:30", 3, 31, "/pricing", **s, **SAFARI_IOS),
        # V1b: visitor 1 again, direct; a pageview and a custom event (not a bounce)
        event("2026-09-21T12:00:00", 1, 12, "/pricing", **s, **CHROME_WINDOWS),
        event(
            "2026-09-21T12:00:40",
            1,
            12,
            "/pricing",
            "download",
            **s,
            props={"format": "pdf"},
            **CHROME_WINDOWS,
        ),
        # V4: direct, a bounce
        event("2026-09-21T13:00:00", 4, 41, "/", **s, **CHROME_MAC),
        # V5: August in New York, September in UTC
        event("2026-09-01T02:00:00", 5, 51, "/blog", **s, **GOOGLE, **FIREFOX_WINDOWS),
        # V6: mid-August, another hostname
        event(
            "2026-08-15T12:00:00",
            6,
            61,
            "/blog/post",
            hostname="blog.example.com",
            **s,
            **twitter,
            **CHROME_ANDROID,
        ),
        # V7: visitor 2 a week earlier (the previous period of 7d)
        event("2026-09-14T10:00:00", 2, 22, "/pricing", **s, **HACKER_NEWS, **FIREFOX_LINUX),
        event(
            "2026-09-14T10:10:00",
            2,
            22,
            "/pricing",
            "signup",
            **s,
            props={"plan": "free"},
            **FIREFOX_LINUX,
        ),
        # V8: a server-side custom event only
        event("2026-09-19T16:00:00", 8, 81, "/api", "signup", **s, props={"plan": "pro"}),
        # V9, V10: 01:30 in New York, once in daylight saving time and once after
        event("2025-11-02T05:30:00", 9, 91, "/", **s, **CHROME_WINDOWS),
        event("2025-11-02T06:30:00", 10, 101, "/", **s, **CHROME_WINDOWS),
        # Another site: never counted
        event("2026-09-20T13:00:00", 1, 11, "/", site=OTHER_SITE, **GOOGLE, **CHROME_WINDOWS),
    ]
